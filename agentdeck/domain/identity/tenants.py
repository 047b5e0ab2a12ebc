"""Tenants: the caller's tenant, its members, and its settings (billing contacts, webhook URL,
plan metadata and flags, versioned).

Writes are optimistic: the caller sends the version it read (`If-Match: "<version>"`); a write
against any other version is refused with 409, so two admins cannot silently overwrite each
other. Missing precondition → 428.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from agentdeck.context import Context
from agentdeck.db.models import Tenant, TenantSettings
from agentdeck.db.models.identity import Membership, User
from agentdeck.db.session import rowcount
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import EMAIL, Limit
from agentdeck.domain.common.pagination import parse_count
from agentdeck.domain.common.results import Page
from agentdeck.errors import BadRequest, Conflict, InvalidInput, NotFound, PreconditionRequired, Unauthenticated
from agentdeck.providers import webhooks

MAX_CONTACTS, MAX_KEYS = 20, 100
# Where billing events are posted. Declared on the REST body's input, so the schema checks it
# before the resolver and openapi.json publishes it; `_validate` applies it for the GraphQL
# mutation (a user error in its payload) and any other caller.
WEBHOOK_URL = Limit(max_length=2048, format="uri")


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


@dataclass(frozen=True)
class Member:
    """A user's membership of a tenant: the user, and their role there since `joined_at`."""

    user: User
    tenant_id: uuid.UUID
    role: str
    joined_at: datetime


# The tenant and its members ------------------------------------------------------------------


def _token_tenant(ctx: Context) -> uuid.UUID:
    tenant_id = ctx.require_principal().tenant_id
    if tenant_id is None:
        raise Unauthenticated("Authenticated token is missing tenant context.")
    return tenant_id


async def current_tenant(ctx: Context) -> Tenant:
    """The tenant the caller's token acts in. Its name and slug are for any holder of the token
    (an unverified owner too); members and settings are tenant operations with their own gates."""
    tenant_id = _token_tenant(ctx)
    async with ctx.platform_session() as s:
        tenant = await s.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


async def visible_tenants(ctx: Context, tenant_ids: Sequence[uuid.UUID | None]) -> list[Tenant | None]:
    """Lookups by id: the caller's own tenant only; None for any other or a missing one."""
    own = _token_tenant(ctx)
    return await tenants_by_ids(ctx, [i if i == own else None for i in tenant_ids])


async def tenants_by_ids(ctx: Context, tenant_ids: Sequence[uuid.UUID | None]) -> list[Tenant | None]:
    """Tenants by id, in order, for objects the caller already sees (a user's or a session's
    tenant): no check of its own."""
    wanted = {i for i in tenant_ids if i is not None}
    found: dict[uuid.UUID, Tenant] = {}
    decided = ctx.tenant  # the request's tenant, read once when the request's tenant was decided
    if decided is not None and decided.tenant_id in wanted:
        found[decided.tenant_id] = decided.tenant
        wanted.discard(decided.tenant_id)
    if wanted:
        async with ctx.platform_session() as s:
            found.update((row.id, row) for row in (await s.scalars(select(Tenant).where(Tenant.id.in_(wanted)))).all())
    return [found.get(i) if i is not None else None for i in tenant_ids]


async def list_members(ctx: Context, offset: int, limit: int) -> Page[Member]:
    """The members of the caller's tenant, earliest first (a tenant operation: a verified member)."""
    tc = await require_role(ctx, "viewer")
    where = Membership.tenant_id == tc.tenant_id
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(Membership).where(where)) or 0
        rows = (
            await s.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(where)
                .order_by(Membership.created_at, Membership.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return Page([Member(user, m.tenant_id, m.role, m.created_at) for m, user in rows], total)


async def members_by_user_ids(ctx: Context, user_ids: Sequence[uuid.UUID]) -> list[Member | None]:
    """Users by id as members of the caller's tenant, in order; None for anyone else. The caller
    is always visible to themself; seeing the others is a tenant operation, as listing them is."""
    principal = ctx.require_principal()
    own = principal.subject.removeprefix("user:") if principal.subject.startswith("user:") else None
    tenant_id = principal.tenant_id
    if any(str(i) != own for i in user_ids):
        tenant_id = (await require_role(ctx, "viewer")).tenant_id
    if tenant_id is None or not user_ids:
        return [None for _ in user_ids]
    async with ctx.platform_session() as s:
        rows = (
            await s.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(Membership.tenant_id == tenant_id, Membership.user_id.in_(set(user_ids)))
            )
        ).all()
    found = {user.id: Member(user, m.tenant_id, m.role, m.created_at) for m, user in rows}
    return [found.get(i) for i in user_ids]


# Settings ------------------------------------------------------------------------------------


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
    try:
        return parse_count(raw.strip('"'))
    except ValueError:
        raise BadRequest('If-Match must be the quoted version from the ETag, e.g. "3".') from None


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
    problems += [(p["field"], p["message"]) for p in WEBHOOK_URL.problems(url, "input.billing_webhook_url")]
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
    return await _write(
        ctx, tc.tenant_id, parse_if_match(if_match), contacts, billing_webhook_url, plan_metadata, flags
    )


async def update_settings_at(
    ctx: Context,
    expected: int,
    contacts: list[BillingContact],
    billing_webhook_url: str | None,
    plan_metadata: Any,
    flags: Any,
) -> Settings:
    """`update_settings` with the version read given as a number (the GraphQL form of If-Match)."""
    tc = await require_role(ctx, "admin")
    if expected < 0:
        raise InvalidInput(
            "expected_version must be a version read (0 or more).",
            details=[{"field": "input.expected_version", "message": "must be 0 or more"}],
        )
    return await _write(ctx, tc.tenant_id, expected, contacts, billing_webhook_url, plan_metadata, flags)


async def _write(
    ctx: Context,
    tenant_id: uuid.UUID,
    expected: int,
    contacts: list[BillingContact],
    billing_webhook_url: str | None,
    plan_metadata: Any,
    flags: Any,
) -> Settings:
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
                .where(TenantSettings.tenant_id == tenant_id, TenantSettings.version == expected)
                .values(version=TenantSettings.version + 1, **values)
                .execution_options(synchronize_session=False)
            )
            if rowcount(result) != 1:
                raise Conflict("Tenant settings were changed by someone else; reload and retry.")
            await s.commit()
        row = await s.scalar(select(TenantSettings).execution_options(populate_existing=True))
    return Settings(tenant_id, row)
