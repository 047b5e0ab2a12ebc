"""Service accounts: minting, listing and revoking their refresh tokens (NOTES §2.5).

Who may mint:
- `issueServiceAccountToken` (`POST /auth/service-accounts/issue`): platform automation proves
  itself with the bootstrap secret, `Authorization: Bearer <AGENTDECK_BOOTSTRAP_SECRET>`
  (`context.authenticate` maps it to the `bootstrap` principal). This replaces the legacy Vault
  signature / `dev-demo` scheme; with no secret configured, nobody can use this route.
- `issueServiceAccountTokenFromBrowser`: a signed-in, verified human who holds operator scope
  (`platform:operator` or `support:*`: any account, any tenant) or is admin/owner of a tenant
  (only tenant-bound accounts, only in that tenant).
Listing and revoking: operators see every token; tenant admins/owners see only their tenant's.

Unlike the legacy service, the tokens authenticate API calls with exactly their scopes
(`context.authenticate`), until they expire or are revoked here.

Reuse: the legacy service returned an existing active token for the same account/tenant/scopes
unless `force` was set. We keep only the jti, never the token (a database leak must not leak
bearer credentials), so an existing token cannot be handed back: every call mints a new one and
`force` is accepted for compatibility only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, true

from agentdeck.auth.service_accounts import CATALOG, SUBJECT_PREFIX, ServiceAccount
from agentdeck.context import Context, Principal
from agentdeck.db.models import Tenant
from agentdeck.db.models.service_accounts import ServiceAccountToken
from agentdeck.domain.common.access import (
    require_principal,
    require_role,
    require_verified,
    scope_granted,
)
from agentdeck.domain.common.results import Outcome, Page
from agentdeck.errors import BadRequest, Forbidden, InvalidInput, NotFound, RateLimited

ACCOUNT_BURST = 5  # tokens per account per minute
GLOBAL_BURST = 30  # tokens per minute, all accounts


@dataclass
class IssueRequest:
    account: str
    scopes: list[str]
    tenant_id: str | None = None
    lifetime_minutes: int | None = None
    fingerprint: str | None = None
    force: bool = False


@dataclass(frozen=True)
class Minted:
    """A token just minted: its row and the token itself, which is returned once and never
    stored (the row keeps only its jti)."""

    row: ServiceAccountToken
    token: str


@dataclass(frozen=True)
class Actor:
    principal: Principal
    operator: bool
    tenant_id: uuid.UUID | None  # the tenant a non-operator administers


def is_operator(principal: Principal) -> bool:
    return scope_granted(principal.scopes, "platform:operator")


async def _actor(ctx: Context) -> Actor:
    principal = await require_verified(ctx)
    if is_operator(principal):
        return Actor(principal, True, principal.tenant_id)
    tc = await require_role(ctx, "admin")
    return Actor(principal, False, tc.tenant_id)


# -- issuing ---------------------------------------------------------------------------------


async def issue(ctx: Context, req: IssueRequest) -> Minted:
    principal = require_principal(ctx)
    if principal.subject != "bootstrap":
        raise Forbidden("Minting requires the platform bootstrap secret.")
    return await _mint(ctx, req, Actor(principal, True, None))


async def browser_issue(ctx: Context, req: IssueRequest, reason: str) -> Minted:
    if not require_principal(ctx).subject.startswith("user:"):
        raise Forbidden("Issuing from the browser requires a signed-in user.")
    actor = await _actor(ctx)
    return await _mint(ctx, req, actor)


async def _mint(ctx: Context, req: IssueRequest, actor: Actor) -> Minted:
    account = CATALOG.get(req.account)
    if account is None:
        raise BadRequest(f"Unknown service account '{req.account}'.")
    scopes = _scopes(account, req.scopes)
    tenant_id = await _tenant(ctx, account, req.tenant_id, actor)
    ttl = _lifetime(account, req.lifetime_minutes)
    fingerprint = (req.fingerprint or "").strip()[:128] or None
    await _burst(ctx, account.name)

    extra = {"fingerprint": fingerprint} if fingerprint else None
    token = ctx.services.tokens.issue_refresh(
        subject=SUBJECT_PREFIX + account.name,
        tenant_id=tenant_id,
        scopes=scopes,
        session_id=None,
        email_verified=None,
        account=account.name,
        ttl=ttl,
        extra=extra,
    )
    row = ServiceAccountToken(
        jti=token.jti,
        account=account.name,
        tenant_id=tenant_id,
        scopes=" ".join(scopes),
        fingerprint=fingerprint,
        signing_kid=token.kid,
        issued_at=token.issued_at,
        expires_at=token.expires_at,
        issued_by=actor.principal.subject[:128],
    )
    async with ctx.platform_session() as s:
        s.add(row)
        await s.commit()
    return Minted(row, token.token)


def _scopes(account: ServiceAccount, wanted: list[str]) -> list[str]:
    outside = sorted(set(wanted) - set(account.scopes))
    if outside:
        raise BadRequest(f"Scopes not allowed for '{account.name}': {', '.join(outside)}.")
    if not wanted:
        raise BadRequest("At least one scope is required.")
    return [s for s in account.scopes if s in wanted]  # catalog order: stable for comparisons


async def _tenant(ctx: Context, account: ServiceAccount, raw: str | None, actor: Actor) -> uuid.UUID | None:
    if not account.requires_tenant:
        if raw:
            raise BadRequest(f"Service account '{account.name}' is not tenant-scoped; omit tenant_id.")
        if not actor.operator:
            raise Forbidden("Only operators may issue tokens for global service accounts.")
        return None
    if not raw and not actor.operator:
        raw = str(actor.tenant_id)  # a tenant admin's own tenant is implied
    if not raw:
        raise BadRequest(f"Service account '{account.name}' requires tenant_id.")
    try:
        tenant_id = uuid.UUID(raw)
    except ValueError:
        raise BadRequest("tenant_id must be a valid UUID.") from None
    if not actor.operator and tenant_id != actor.tenant_id:
        raise Forbidden("Tenant admins may only issue tokens for their own tenant.")
    async with ctx.platform_session() as s:
        tenant = await s.get(Tenant, tenant_id)
    if tenant is None or tenant.status != "active":
        raise BadRequest("tenant_id does not name an active tenant.")
    return tenant_id


def _lifetime(account: ServiceAccount, minutes: int | None) -> timedelta:
    if minutes is None:
        return account.ttl
    if minutes < 1:
        raise InvalidInput(
            "lifetime_minutes must be at least 1.",
            details=[{"field": "input.lifetime_minutes", "message": "Must be at least 1."}],
        )
    return min(timedelta(minutes=minutes), account.ttl)  # the catalog TTL is a ceiling


async def _burst(ctx: Context, account: str) -> None:
    limiter = ctx.services.limiter
    for key, limit in ((f"sa-issue:account:{account}", ACCOUNT_BURST), ("sa-issue:global", GLOBAL_BURST)):
        decision = await limiter.hit(key, limit, 60)
        if not decision.allowed:
            raise RateLimited(
                "Too many service-account tokens issued; try again later.", retry_after=decision.retry_after
            )


# -- listing and revoking --------------------------------------------------------------------


async def list_tokens(
    ctx: Context,
    *,
    account: str | None,
    fingerprint: str | None,
    status: str,
    tenant_id: str | None,
    include_global: bool,
    limit: int,
    offset: int,
    operators_only_tenant: bool = False,
) -> Page[ServiceAccountToken]:
    """`status`: "active" (usable now), "revoked", "expired" (not revoked) or "all".
    `operators_only_tenant`: choosing `tenant_id` is refused to anyone but an operator (the
    native graph's rule; REST lets a tenant admin name their own tenant)."""
    actor = await _actor(ctx)
    if operators_only_tenant and tenant_id and not actor.operator:
        raise Forbidden("Only operators may choose the tenant of the tokens listed.")
    where = [_visible(actor, tenant_id, include_global)]
    if account:
        where.append(ServiceAccountToken.account.contains(account, autoescape=True))
    if fingerprint:
        where.append(ServiceAccountToken.fingerprint == fingerprint)
    if status == "active":  # usable now: neither revoked nor expired
        where += [ServiceAccountToken.revoked_at.is_(None), ServiceAccountToken.expires_at > datetime.now(UTC)]
    elif status == "revoked":
        where.append(ServiceAccountToken.revoked_at.is_not(None))
    elif status == "expired":
        where += [ServiceAccountToken.revoked_at.is_(None), ServiceAccountToken.expires_at <= datetime.now(UTC)]
    # Explicit tenant scoping (see the model): `ctx.session()`'s filter covers TenantOwned only.
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(ServiceAccountToken).where(*where))
        rows = (
            await s.scalars(
                select(ServiceAccountToken)
                .where(*where)
                .order_by(ServiceAccountToken.issued_at.desc(), ServiceAccountToken.jti)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return Page(list(rows), total or 0)


def _visible(actor: Actor, tenant_id: str | None, include_global: bool) -> ColumnElement[bool]:
    col = ServiceAccountToken.tenant_id
    if not actor.operator:
        if include_global:
            raise Forbidden("Only operators may include global tokens.")
        if tenant_id and tenant_id != str(actor.tenant_id):
            raise Forbidden("Only operators may filter by another tenant.")
        return col == actor.tenant_id
    if tenant_id:
        try:
            wanted = uuid.UUID(tenant_id)
        except ValueError:
            raise BadRequest("tenant_id must be a valid UUID.") from None
        return or_(col == wanted, col.is_(None)) if include_global else col == wanted
    return true() if include_global else col.is_not(None)


def status_of(row: ServiceAccountToken, now: datetime | None = None) -> str:
    """ "revoked", "expired" (not revoked) or "active" (usable now)."""
    if row.revoked_at is not None:
        return "revoked"
    if _aware(row.expires_at) <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite reads back naive UTC


async def tokens_by_ids(ctx: Context, token_ids: list[uuid.UUID]) -> dict[uuid.UUID, ServiceAccountToken]:
    """The tokens among `token_ids` the caller may see (operators: all; tenant admins: their
    tenant's); the others are absent, like unknown ones."""
    actor = await _actor(ctx)
    if not token_ids:
        return {}
    where: list[ColumnElement[bool]] = [ServiceAccountToken.id.in_(token_ids)]
    if not actor.operator:
        where.append(ServiceAccountToken.tenant_id == actor.tenant_id)
    async with ctx.platform_session() as s:
        rows = (await s.scalars(select(ServiceAccountToken).where(*where))).all()
    return {row.id: row for row in rows}


async def _revoke(ctx: Context, where: ColumnElement[bool], reason: str | None) -> ServiceAccountToken:
    actor = await _actor(ctx)
    async with ctx.platform_session() as s:
        row = await s.scalar(select(ServiceAccountToken).where(where))
        # Another tenant's token is reported exactly like an unknown one.
        if row is None or (not actor.operator and row.tenant_id != actor.tenant_id):
            raise NotFound("Service-account token not found.")
        if row.revoked_at is None:
            row.revoked_at, row.revoke_reason = datetime.now(UTC), reason
            await s.commit()
    await ctx.services.revocations.token_revoked(row.jti)
    return row


async def revoke(ctx: Context, jti: str, reason: str | None) -> Outcome[str]:
    """Revoke a token at once; the outcome's data is its jti."""
    await _revoke(ctx, ServiceAccountToken.jti == jti, reason)
    return Outcome("Service-account token revoked.", jti)


async def revoke_token(ctx: Context, token_id: uuid.UUID, reason: str | None) -> ServiceAccountToken:
    """Revoke the token with this row id at once (idempotent: the first revocation stands)."""
    return await _revoke(ctx, ServiceAccountToken.id == token_id, reason)
