"""Tenant settings: billing contacts, webhook URL, plan metadata and flags, versioned.

Writes are optimistic: the caller sends the version it read (`If-Match: "<version>"`); a write
against any other version is refused with 409, so two admins cannot silently overwrite each
other. Missing precondition → 428.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from agentdeck.context import Context
from agentdeck.db.models import TenantSettings
from agentdeck.db.session import rowcount
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import EMAIL
from agentdeck.errors import BadRequest, Conflict, InvalidInput, PreconditionRequired
from agentdeck.providers import webhooks

MAX_CONTACTS, MAX_KEYS = 20, 100


@dataclass
class BillingContact:
    name: str
    email: str
    role: str | None = None
    phone: str | None = None
    notify_billing: bool = True


@dataclass(frozen=True)
class Settings:
    """A tenant's settings row, or None while they have never been written (version 0)."""

    tenant_id: uuid.UUID
    row: TenantSettings | None


async def get_settings(ctx: Context) -> Settings:
    tc = await require_role(ctx, "admin")
    async with ctx.session() as s:
        row = await s.scalar(select(TenantSettings))
    return Settings(tc.tenant_id, row)


def parse_if_match(if_match: str | None) -> int:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("If-Match header is required to update tenant settings.")
    raw = if_match.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw.isdigit():
        raise BadRequest('If-Match must be the quoted version from the ETag, e.g. "3".')
    return int(raw)


def _validate(contacts: list[BillingContact], url: str | None, plan_metadata: Any, flags: Any) -> None:
    problems = []
    if len(contacts) > MAX_CONTACTS:
        problems.append(("input.billing_contacts", f"At most {MAX_CONTACTS} billing contacts."))
    for i, c in enumerate(contacts):
        if not 1 <= len(c.name) <= 128:
            problems.append((f"input.billing_contacts.{i}.name", "Name must be 1-128 characters."))
        if not EMAIL.match(c.email):
            problems.append((f"input.billing_contacts.{i}.email", "value is not a valid email address"))
        for key in ("role", "phone"):
            value = getattr(c, key)
            if value is not None and len(value) > 64:
                problems.append((f"input.billing_contacts.{i}.{key}", f"{key} must be at most 64 characters."))
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problems.append(("input.billing_webhook_url", "Input should be a valid http(s) URL"))
        elif len(url) > 2048:
            problems.append(("input.billing_webhook_url", "URL must be at most 2048 characters."))
    if (
        not isinstance(plan_metadata, dict)
        or len(plan_metadata) > MAX_KEYS
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in plan_metadata.items())
    ):
        problems.append(("input.plan_metadata", f"An object of at most {MAX_KEYS} string values."))
    if (
        not isinstance(flags, dict)
        or len(flags) > MAX_KEYS
        or not all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items())
    ):
        problems.append(("input.flags", f"An object of at most {MAX_KEYS} boolean values."))
    if problems:
        raise InvalidInput(problems[0][1], details=[{"field": f, "message": m} for f, m in problems])


async def _check_outbound(url: str, field: str) -> None:
    """A URL the platform may call later is checked by the webhook SSRF guard as it is stored:
    https, and resolving only to public addresses."""
    try:
        await webhooks.check_target(url)
    except webhooks.UnsafeTarget as exc:
        message = f"{field.removeprefix('input.')}: {exc}"
        raise InvalidInput(message, details=[{"field": field, "message": str(exc)}]) from None


async def update_settings(
    ctx: Context,
    if_match: str | None,
    contacts: list[BillingContact],
    billing_webhook_url: str | None,
    plan_metadata: Any,
    flags: Any,
) -> Settings:
    tc = await require_role(ctx, "admin")
    expected = parse_if_match(if_match)
    _validate(contacts, billing_webhook_url, plan_metadata, flags)
    if billing_webhook_url is not None:
        await _check_outbound(billing_webhook_url, "input.billing_webhook_url")
    values = {
        "billing_contacts": [c.__dict__ for c in contacts],
        "billing_webhook_url": billing_webhook_url,
        "plan_metadata": plan_metadata,
        "flags": flags,
    }
    async with ctx.session() as s:
        if expected == 0:  # first write: the row must not exist yet
            s.add(TenantSettings(version=1, **values))
            try:
                await s.commit()
            except IntegrityError:
                raise Conflict("Tenant settings were changed by someone else; reload and retry.") from None
        else:
            # Compare-and-set in one statement, so concurrent writers cannot both succeed.
            result = await s.execute(
                update(TenantSettings)
                .where(TenantSettings.tenant_id == tc.tenant_id, TenantSettings.version == expected)
                .values(version=TenantSettings.version + 1, **values)
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                raise Conflict("Tenant settings were changed by someone else; reload and retry.")
            await s.commit()
        row = await s.scalar(select(TenantSettings).execution_options(populate_existing=True))
    return Settings(tc.tenant_id, row)
