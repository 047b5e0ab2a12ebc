"""Who may do what: scopes, the tenant context of a request, and tenant roles (NOTES §2.2–2.4).

These are domain rules, so they live here; `schema/permissions.py` wraps them as Strawberry
permission classes that GraphQL fields (and so the REST routes) declare. The tenant a request
acts in is decided once, by `Context.tenant_context` (`auth/tenancy.py`).
"""

from __future__ import annotations

from agentdeck.auth.tenancy import Principal, TenantContext, granted_role, scope_granted
from agentdeck.context import Context
from agentdeck.db.models.identity import ROLES
from agentdeck.errors import Forbidden

__all__ = [
    "TenantContext",
    "granted_role",
    "require_principal",
    "require_role",
    "require_scope",
    "require_verified",
    "scope_granted",
    "tenant_context",
]


def require_principal(ctx: Context) -> Principal:
    return ctx.require_principal()


def require_scope(ctx: Context, scope: str) -> Principal:
    principal = ctx.require_principal()
    if not scope_granted(principal.scopes, scope):
        raise Forbidden("Insufficient scopes for this operation.")
    return principal


async def require_verified(ctx: Context) -> Principal:
    return await ctx.require_verified()


async def tenant_context(ctx: Context) -> TenantContext:
    return await ctx.tenant_context()


async def require_role(ctx: Context, minimum: str) -> TenantContext:
    tc = await ctx.tenant_context()
    if ROLES.index(tc.role) < ROLES.index(minimum):
        raise Forbidden("Insufficient tenant privileges for this operation.")
    return tc


def client_info(ctx: Context) -> tuple[str | None, str | None]:
    """The caller's user agent (at most 512 characters) and address, as sessions record them."""
    req = ctx.request
    if req is None:
        return None, None
    return (req.headers.get("user-agent") or "")[:512] or None, req.client.host if req.client else None
