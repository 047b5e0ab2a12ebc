"""Who is calling, and the one tenant a request acts in (NOTES §2.2–2.4, tightened).

The tenant is decided once per request (`Context.tenant_context`) and every tenant session is
scoped to exactly it. A principal acts in the tenant of its token; naming another tenant with
`X-Tenant-Id` needs the `platform:operator` scope (or `support:*`), and then the role there is
inferred from the scopes alone, never from the `roles` claim (which speaks for its own tenant).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from agentdeck.db.models import Tenant
from agentdeck.db.models.identity import ROLES
from agentdeck.db.session import Database
from agentdeck.errors import BadRequest, Forbidden, NotFound, Unauthenticated

ADMIN_SCOPES = {"billing:manage", "workflows:delete", "conversations:delete", "support:read", "activity:read"}
MEMBER_SCOPES = {"conversations:write"}
OPERATOR_SCOPE = "platform:operator"


@dataclass(frozen=True)
class Principal:
    """Who is calling. `subject` is e.g. `user:<uuid>`, `service-account:<name>` or `bootstrap`."""

    subject: str
    scopes: frozenset[str] = frozenset()
    tenant_id: uuid.UUID | None = None
    roles: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class TenantContext:
    tenant_id: uuid.UUID
    role: str
    tenant: Tenant
    on_behalf: bool = False  # an operator acting in a tenant other than its token's own


def scope_granted(granted: frozenset[str], wanted: str) -> bool:
    """`support:*` grants every scope; `<ns>:*` grants every `<ns>:<verb>`."""
    if wanted in granted or "support:*" in granted:
        return True
    namespace = wanted.split(":", 1)[0]
    return f"{namespace}:*" in granted


def role_from_scopes(scopes: frozenset[str]) -> str:
    if scopes & ADMIN_SCOPES or "support:*" in scopes:
        return "admin"
    if scopes & MEMBER_SCOPES:
        return "member"
    return "viewer"


def granted_role(principal: Principal) -> str:
    """The highest role of the `roles` claim; without one, inferred from the scopes."""
    roles = [r for r in principal.roles if r in ROLES]
    return max(roles, key=ROLES.index) if roles else role_from_scopes(principal.scopes)


def _header_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None


def target_tenant(principal: Principal, header: str | None) -> tuple[uuid.UUID, bool]:
    """(tenant, on_behalf) for a principal and an optional `X-Tenant-Id`; UUIDs compare as
    UUIDs, so case and braces don't matter."""
    own = principal.tenant_id
    named = _header_uuid(header) if header else None
    if header and named is None and own is None:
        raise BadRequest("Tenant context must be a valid UUID.")
    if own is not None and (not header or named == own):
        return own, False
    if not scope_granted(principal.scopes, OPERATOR_SCOPE):
        if own is not None:
            raise Forbidden("Tenant mismatch between token and X-Tenant-Id header.")
        if not header:
            raise Unauthenticated("Authenticated token is missing tenant context.")
        raise Forbidden("Acting in the tenant named by X-Tenant-Id requires the platform:operator scope.")
    if named is None:
        if not header:
            raise Unauthenticated("Authenticated token is missing tenant context.")
        raise BadRequest("Tenant context must be a valid UUID.")
    return named, True


class TenantRows:
    """Tenant rows, each read at most `ttl` seconds ago: every tenant request checks its tenant's
    status, and a session to re-read one row was about a tenth of a list read. The service never
    changes a tenant's row after creating it; a status set in the database (an operator
    suspending a tenant) is seen within `ttl`. Rows are shared read-only between requests."""

    def __init__(self, db: Database, ttl: float, max_entries: int = 10_000) -> None:
        self._db = db
        self._ttl = ttl
        self._max = max_entries
        self._rows: dict[uuid.UUID, tuple[float, Tenant]] = {}

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        hit = self._rows.get(tenant_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        async with self._db.platform_session() as s:
            tenant = await s.get(Tenant, tenant_id)
        if tenant is not None and self._ttl > 0:
            if len(self._rows) >= self._max:
                self._rows.clear()
            self._rows[tenant_id] = (time.monotonic() + self._ttl, tenant)
        return tenant


async def decide_tenant(
    tenants: TenantRows, principal: Principal, tenant_header: str | None, role_header: str | None
) -> TenantContext:
    """The tenant and role a request acts in; the tenant must exist and be active."""
    tenant_id, on_behalf = target_tenant(principal, tenant_header)
    role = role_from_scopes(principal.scopes) if on_behalf else granted_role(principal)
    wanted = (role_header or "").strip().lower()
    if wanted in ROLES:  # unknown role names are ignored, as the legacy service did
        if ROLES.index(wanted) > ROLES.index(role):
            raise Forbidden("Requested tenant role exceeds privileges granted by token.")
        role = wanted
    tenant = await tenants.get(tenant_id)
    if tenant is None:
        raise NotFound("Tenant not found.")
    if tenant.status != "active":
        raise Forbidden(f"Tenant account is {tenant.status}.")
    return TenantContext(tenant_id=tenant_id, role=role, tenant=tenant, on_behalf=on_behalf)
