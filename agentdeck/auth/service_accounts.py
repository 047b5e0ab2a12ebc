"""The service-account catalog (legacy contract NOTES §2.5), as data.

Each account names the only scopes a token for it may carry, whether a token must be bound to a
tenant, and the longest lifetime a token may have. Adding an account is adding a row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    name: str
    scopes: tuple[str, ...]  # the allowed set, in the order tokens list them
    requires_tenant: bool
    ttl: timedelta  # default and maximum lifetime of a token


CATALOG: dict[str, ServiceAccount] = {
    a.name: a
    for a in (
        ServiceAccount("analytics-batch", ("conversations:read",), True, timedelta(days=30)),
        ServiceAccount("billing-worker", ("billing:read", "billing:manage", "activity:read"), True, timedelta(days=30)),
        ServiceAccount("support-console", ("support:*", "activity:read"), False, timedelta(days=7)),
        ServiceAccount(
            "synthetic-monitor", ("conversations:write", "tools:read", "billing:read"), True, timedelta(days=1)
        ),
        ServiceAccount("demo-bot", ("chat:write", "conversations:read"), False, timedelta(days=30)),
    )
}

SUBJECT_PREFIX = "service-account:"
