"""Who may do what: scopes, the tenant context of a request, and tenant roles (NOTES §2.2–2.4).

These are domain rules, so they live here; `schema/permissions.py` wraps them as Strawberry
permission classes that GraphQL fields (and so the REST routes) declare.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from agentdeck.context import Context, Principal
from agentdeck.db.models import Tenant
from agentdeck.db.models.identity import ROLES
from agentdeck.errors import BadRequest, Forbidden, NotFound, Unauthenticated

ADMIN_SCOPES = {"billing:manage", "workflows:delete", "conversations:delete", "support:read", "activity:read"}
MEMBER_SCOPES = {"conversations:write"}
VIEWER_SCOPES = {"conversations:read", "tools:read", "billing:read"}
TENANT_KEY = "tenant_context"


@dataclass(frozen=True)
class TenantContext:
    tenant_id: uuid.UUID
    role: str
    tenant: Tenant


def require_principal(ctx: Context) -> Principal:
    if ctx.principal is None:
        raise ctx.auth_error or Unauthenticated("Not authenticated")
    return ctx.principal


def scope_granted(granted: frozenset[str], wanted: str) -> bool:
    """`support:*` grants every scope; `<ns>:*` grants every `<ns>:<verb>`."""
    if wanted in granted or "support:*" in granted:
        return True
    namespace = wanted.split(":", 1)[0]
    return f"{namespace}:*" in granted


def require_scope(ctx: Context, scope: str) -> Principal:
    principal = require_principal(ctx)
    if not scope_granted(principal.scopes, scope):
        raise Forbidden("Insufficient scopes for this operation.")
    return principal


def require_verified(ctx: Context) -> Principal:
    """Tokens that say `email_verified: false` are refused; tokens without the claim pass."""
    principal = require_principal(ctx)
    if ctx.settings.require_email_verification and principal.claims.get("email_verified") is False:
        raise Forbidden("Email verification required.")
    return principal


def granted_role(principal: Principal) -> str:
    roles = [r for r in principal.roles if r in ROLES]
    if roles:
        return max(roles, key=ROLES.index)
    scopes = principal.scopes
    if scopes & ADMIN_SCOPES or "support:*" in scopes:
        return "admin"
    if scopes & MEMBER_SCOPES:
        return "member"
    return "viewer"


async def tenant_context(ctx: Context) -> TenantContext:
    """The caller's tenant and effective role, checked once per request and cached on it."""
    cached = ctx.loaders.get(TENANT_KEY)
    if cached is not None:
        return cached
    principal = require_verified(ctx)
    headers = ctx.request.headers if ctx.request is not None else {}
    header_tenant = headers.get("x-tenant-id")
    raw = principal.tenant_id
    if raw is not None and header_tenant and header_tenant != str(raw):
        raise Forbidden("Tenant mismatch between token and X-Tenant-Id header.")
    if raw is None:
        if not header_tenant:
            raise Unauthenticated("Authenticated token is missing tenant context.")
        try:
            raw = uuid.UUID(header_tenant)
        except ValueError:
            raise BadRequest("Tenant context must be a valid UUID.") from None
    role = granted_role(principal)
    wanted = headers.get("x-tenant-role")
    if wanted:
        wanted = wanted.strip().lower()
        if wanted in ROLES:
            if ROLES.index(wanted) > ROLES.index(role):
                raise Forbidden("Requested tenant role exceeds privileges granted by token.")
            role = wanted
    async with ctx.session(tenant_scoped=False) as s:
        tenant = await s.get(Tenant, raw)
    if tenant is None:
        raise NotFound("Tenant not found.")
    if tenant.status != "active":
        raise Forbidden(f"Tenant account is {tenant.status}.")
    result = TenantContext(tenant_id=raw, role=role, tenant=tenant)
    ctx.loaders[TENANT_KEY] = result
    return result


async def require_role(ctx: Context, minimum: str) -> TenantContext:
    tc = await tenant_context(ctx)
    if ROLES.index(tc.role) < ROLES.index(minimum):
        raise Forbidden("Insufficient tenant privileges for this operation.")
    return tc
