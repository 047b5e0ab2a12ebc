"""The caller's consents (which version of which policy they accepted, and when) and their
notification preferences (which optional notices they want, per channel and category).

Consents are an append-only history: one row per (user, policy, version), never changed or
deleted; accepting a version again answers the row already kept (the legacy behaviour). They are
the person's, across their tenants. Preferences are per tenant: one row per (tenant, user,
channel, category), replaced by each update; no row means the notice is wanted. What the mail
senders do with them is `domain/common/notifications.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agentdeck.context import Context
from agentdeck.db.models import NotificationPreference, UserConsent
from agentdeck.domain.common import notifications
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Page
from agentdeck.domain.identity.auth import require_user
from agentdeck.errors import Forbidden, InvalidInput, RateLimited

POLICY_KEY = Limit(min_length=1, max_length=64)
POLICY_VERSION = Limit(min_length=1, max_length=32)
CLIENT_HASH = Limit(max_length=128)
CHANNEL = Limit(min_length=1, max_length=16)
CATEGORY = Limit(min_length=1, max_length=64)
# New acceptances per user per hour: a client records one at sign-up and one per policy change.
CONSENTS_PER_HOUR = 30
LEGACY_LIST_LIMIT = 50  # GET /users/consents: the newest 50, as the legacy service answered
MAX_PREFERENCES = len(notifications.CHANNELS) * len(notifications.CATEGORIES)


def _user_id(ctx: Context) -> uuid.UUID:
    return uuid.UUID(require_user(ctx).subject.removeprefix("user:"))


# Consents ------------------------------------------------------------------------------------


async def record_consent(
    ctx: Context, policy_key: str, version: str, ip_hash: str | None = None, user_agent_hash: str | None = None
) -> UserConsent:
    """Record that the caller accepted `version` of `policy_key`; the row kept (the earlier one
    when this version was accepted before)."""
    user_id = _user_id(ctx)
    policy_key, version = policy_key.strip(), version.strip()
    problems = POLICY_KEY.problems(policy_key, "input.policy_key") + POLICY_VERSION.problems(version, "input.version")
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)
    decision = await ctx.services.limiter.hit(f"consent:user:{user_id}", CONSENTS_PER_HOUR, 3600)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit exceeded ({CONSENTS_PER_HOUR} consents per hour). Retry after {decision.retry_after}s.",
            retry_after=decision.retry_after,
            limit=CONSENTS_PER_HOUR,
        )
    same = (UserConsent.user_id == user_id, UserConsent.policy_key == policy_key, UserConsent.version == version)
    async with ctx.platform_session() as s:
        existing = await s.scalar(select(UserConsent).where(*same))
        if existing is not None:
            return existing
        row = UserConsent(
            user_id=user_id,
            policy_key=policy_key,
            version=version,
            accepted_at=datetime.now(UTC),
            ip_hash=ip_hash,
            user_agent_hash=user_agent_hash,
        )
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:  # the same acceptance, recorded concurrently
            await s.rollback()
            return (await s.scalars(select(UserConsent).where(*same))).one()
    return row


async def list_consents(ctx: Context, offset: int, limit: int) -> Page[UserConsent]:
    """The caller's acceptances, newest first."""
    user_id = _user_id(ctx)
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(UserConsent).where(UserConsent.user_id == user_id))
        rows = (
            await s.scalars(
                select(UserConsent)
                .where(UserConsent.user_id == user_id)
                .order_by(UserConsent.accepted_at.desc(), UserConsent.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
    return Page(list(rows), total or 0)


async def consents_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[UserConsent | None]:
    """The caller's own acceptances with these ids, in order; None for anyone else's."""
    user_id = _user_id(ctx)
    async with ctx.platform_session() as s:
        rows = (
            await s.scalars(select(UserConsent).where(UserConsent.id.in_(set(ids)), UserConsent.user_id == user_id))
        ).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]


# Notification preferences --------------------------------------------------------------------


@dataclass(frozen=True)
class PreferenceChange:
    channel: str
    category: str
    enabled: bool


def _check(changes: Sequence[PreferenceChange], field: str) -> list[PreferenceChange]:
    problems: list[dict] = []
    seen: set[tuple[str, str]] = set()
    out = []
    for i, change in enumerate(changes):
        at = field if len(changes) == 1 and not field.endswith("preferences") else f"{field}.{i}"
        channel, category = change.channel.strip().lower(), change.category.strip().lower()
        if channel not in notifications.CHANNELS:
            problems.append(
                {"field": f"{at}.channel", "message": f"channel must be one of {', '.join(notifications.CHANNELS)}"}
            )
        if category not in notifications.CATEGORIES:
            problems.append(
                {
                    "field": f"{at}.category",
                    "message": f"category must be one of {', '.join(notifications.CATEGORIES)}",
                }
            )
        elif category in notifications.REQUIRED and not change.enabled:
            problems.append(
                {"field": f"{at}.enabled", "message": f"{category} notices are always sent; they cannot be turned off"}
            )
        if (channel, category) in seen:
            problems.append({"field": at, "message": f"{channel}/{category} is given twice"})
        seen.add((channel, category))
        out.append(PreferenceChange(channel, category, change.enabled))
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)
    return out


async def update_preferences(
    ctx: Context, changes: Sequence[PreferenceChange], tenant_id: uuid.UUID | None = None, field: str = "input"
) -> list[NotificationPreference]:
    """Set the caller's preferences in the tenant the request acts in (`tenant_id`, when given,
    must be that tenant); the rows written, in the order given."""
    tc = await require_role(ctx, "viewer")
    if tenant_id is not None and tenant_id != tc.tenant_id:
        raise Forbidden("Tenant context mismatch for notification preferences.")
    if not changes or len(changes) > MAX_PREFERENCES:
        raise InvalidInput(
            f"Give 1 to {MAX_PREFERENCES} preferences.",
            details=[{"field": field, "message": f"give 1 to {MAX_PREFERENCES} preferences"}],
        )
    wanted = _check(changes, field)
    user_id = _user_id(ctx)
    for attempt in (1, 2):
        try:
            return await _upsert(ctx, user_id, wanted)
        except IntegrityError:  # a concurrent first write of the same preference: update it now
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _upsert(ctx: Context, user_id: uuid.UUID, wanted: list[PreferenceChange]) -> list[NotificationPreference]:
    async with ctx.session() as s:
        rows = {
            (row.channel, row.category): row
            for row in (
                await s.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
            ).all()
        }
        out = []
        now = datetime.now(UTC)
        for change in wanted:
            row = rows.get((change.channel, change.category))
            if row is None:
                row = NotificationPreference(
                    user_id=user_id,
                    channel=change.channel,
                    category=change.category,
                    enabled=change.enabled,
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
            else:
                row.enabled, row.updated_at = change.enabled, now
            out.append(row)
        await s.commit()
    return out


async def list_preferences(ctx: Context) -> list[NotificationPreference]:
    """The caller's preferences in the tenant the request acts in (at most one per channel and
    category), by channel and category."""
    await require_role(ctx, "viewer")
    user_id = _user_id(ctx)
    async with ctx.session() as s:
        rows = (
            await s.scalars(
                select(NotificationPreference)
                .where(NotificationPreference.user_id == user_id)
                .order_by(NotificationPreference.channel, NotificationPreference.category)
            )
        ).all()
    return list(rows)


async def preferences_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[NotificationPreference | None]:
    """The caller's own preferences (in this request's tenant) with these ids; None otherwise."""
    user_id = _user_id(ctx)
    async with ctx.session() as s:
        rows = (
            await s.scalars(
                select(NotificationPreference).where(
                    NotificationPreference.id.in_(set(ids)), NotificationPreference.user_id == user_id
                )
            )
        ).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in ids]
