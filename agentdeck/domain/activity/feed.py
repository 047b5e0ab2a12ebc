"""The activity feed: what happened in a tenant, and who of its readers has seen it.

- `record(ctx, s, action, ...)` adds an event to the session `s` of the change it reports, so
  the event commits (or rolls back) with the change. Once that transaction commits, the event is
  published on the bus channel `activity:<tenant>` (`_after_commit`), so that live readers on
  every process see it; an event whose transaction rolls back is never seen.
- Read state is per reader (the principal's subject): a receipt (`read` or `dismissed`) per
  event, and a checkpoint ("mark all read": everything created up to it is read unless a receipt
  says otherwise). Marking never changes another reader's state.
- Every read is scoped to the tenant the request acts in: another tenant's event id is not
  found, exactly as a missing one.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, event, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from agentdeck.context import Context, Services
from agentdeck.db.models import ActivityCheckpoint, ActivityEvent, ActivityReceipt
from agentdeck.db.session import TENANT_KEY, Database, insert_if_absent, rowcount
from agentdeck.domain.common.access import client_info, require_scope
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor, identifier, timestamp
from agentdeck.domain.common.results import Page
from agentdeck.errors import BadRequest, InvalidInput, NotFound
from agentdeck.logs import correlation_id

log = logging.getLogger("agentdeck.activity")

SCOPE = "activity:read"
STATUSES = ("success", "failure", "pending")
READ_STATES = ("unread", "read", "dismissed")
REPLAY_MAX = 1000  # events a resuming reader is sent from the database before the live ones
PURGE_BATCH = 1000  # events one purge deletes at most (bounded work per call)
_PENDING = "activity.pending"  # session.info: events to publish once the transaction commits


def channel(tenant_id: uuid.UUID | str) -> str:
    return f"activity:{tenant_id}"


@dataclass(frozen=True)
class Actor:
    """Who did it: a user (`id` = user id), a service account (`id` = its name) or the platform."""

    id: str | None
    type: str | None
    role: str | None = None


SYSTEM = Actor(None, "system")


@dataclass(frozen=True)
class Entry:
    """An event as one reader sees it."""

    event: ActivityEvent
    read_state: str


@dataclass(frozen=True)
class Filter:
    action: str | None = None
    actor_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    status: str | None = None
    request_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    read_state: str | None = None


@dataclass(frozen=True)
class FeedPage:
    """One page by cursor (the legacy list), with the reader's unread count over the whole feed."""

    items: list[Entry]
    next_cursor: str | None
    unread_count: int


# -- recording ----------------------------------------------------------------------------------


def record(
    where: Context | Services,
    s: AsyncSession,
    action: str,
    *,
    tenant_id: uuid.UUID | None = None,
    actor: Actor | None = None,
    object_type: str | None = None,
    object_id: str | uuid.UUID | None = None,
    object_name: str | None = None,
    status: str = "success",
    metadata: dict[str, Any] | None = None,
) -> ActivityEvent:
    """Add an event to `s`, the session of the change it reports (committed with it).

    The tenant is `tenant_id`, else the tenant `s` is scoped to, else the one the request acts
    in. The actor, client (user agent, hashed address) and request id come from the request when
    `where` is a Context, unless `actor` is given."""
    ctx = where if isinstance(where, Context) else None
    services = where.services if isinstance(where, Context) else where
    tenant = tenant_id or s.info.get(TENANT_KEY) or (ctx.tenant.tenant_id if ctx and ctx.tenant else None)
    if tenant is None:
        raise ValueError(f"activity {action}: no tenant to record it in")
    if status not in STATUSES:
        raise ValueError(f"activity {action}: unknown status {status!r}")
    user_agent, address = client_info(ctx) if ctx is not None else (None, None)
    request = correlation_id.get()
    who = actor or _actor(ctx)
    row = ActivityEvent(
        id=uuid.uuid4(),
        tenant_id=tenant,
        action=action,
        created_at=datetime.now(UTC),
        actor_id=who.id,
        actor_type=who.type,
        actor_role=who.role,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        object_name=object_name[:512] if object_name else None,
        status=status,
        source="api" if ctx is not None and ctx.request is not None else "system",
        request_id=request[:128] if request != "-" else None,
        ip_hash=hashlib.sha256(address.encode()).hexdigest() if address else None,
        user_agent=user_agent,
        meta=metadata,
    )
    s.add(row)
    s.info.setdefault(_PENDING, []).append((services, row))
    return row


def _actor(ctx: Context | None) -> Actor:
    principal = ctx.principal if ctx is not None else None
    if principal is None:
        return SYSTEM
    role = ctx.tenant.role if ctx is not None and ctx.tenant is not None else None
    if principal.subject.startswith("user:"):
        return Actor(principal.subject.removeprefix("user:"), "user", role or next(iter(principal.roles), None))
    if principal.subject.startswith("service-account:"):
        return Actor(principal.subject.removeprefix("service-account:"), "service_account", role)
    return Actor(principal.subject, "system", role)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for services, row in session.info.pop(_PENDING, ()):
        services.spawn(_publish(services, row))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


async def _publish(services: Services, row: ActivityEvent) -> None:
    try:
        await services.bus.publish(channel(row.tenant_id), document(row))
    except Exception:  # noqa: BLE001 - the event is stored; only live readers miss it
        log.warning("activity event %s (%s) was not published", row.id, row.action, exc_info=True)


def document(row: ActivityEvent) -> dict[str, Any]:
    """An event as JSON (what the bus carries)."""
    return {
        "id": str(row.id),
        "tenant_id": str(row.tenant_id),
        "action": row.action,
        "created_at": row.created_at.isoformat(),
        "actor_id": row.actor_id,
        "actor_type": row.actor_type,
        "actor_role": row.actor_role,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "object_name": row.object_name,
        "status": row.status,
        "source": row.source,
        "request_id": row.request_id,
        "ip_hash": row.ip_hash,
        "user_agent": row.user_agent,
        "metadata": row.meta,
    }


def from_document(doc: dict[str, Any]) -> ActivityEvent:
    """The (transient) row a published document describes."""
    return ActivityEvent(
        id=uuid.UUID(doc["id"]),
        tenant_id=uuid.UUID(doc["tenant_id"]),
        action=doc["action"],
        created_at=datetime.fromisoformat(doc["created_at"]),
        actor_id=doc.get("actor_id"),
        actor_type=doc.get("actor_type"),
        actor_role=doc.get("actor_role"),
        object_type=doc.get("object_type"),
        object_id=doc.get("object_id"),
        object_name=doc.get("object_name"),
        status=doc.get("status") or "success",
        source=doc.get("source"),
        request_id=doc.get("request_id"),
        ip_hash=doc.get("ip_hash"),
        user_agent=doc.get("user_agent"),
        meta=doc.get("metadata"),
    )


# -- reading ------------------------------------------------------------------------------------


async def _reader(ctx: Context) -> str:
    """The caller, as a reader of the feed of the tenant the request acts in."""
    principal = require_scope(ctx, SCOPE)
    await ctx.tenant_context()
    return principal.subject


@dataclass(frozen=True)
class _View:
    """The reader's state columns: the receipt joined to each event, and the checkpoint."""

    reader: str
    until: datetime | None

    def select(self) -> Select[ActivityEvent, str | None]:
        return select(ActivityEvent, ActivityReceipt.status).outerjoin(
            ActivityReceipt, and_(ActivityReceipt.event_id == ActivityEvent.id, ActivityReceipt.reader == self.reader)
        )

    def state(self, wanted: str) -> ColumnElement[bool]:
        by_checkpoint = ActivityEvent.created_at <= self.until if self.until is not None else None
        if wanted == "dismissed":
            return ActivityReceipt.status == "dismissed"
        if wanted == "read":
            if by_checkpoint is None:
                return ActivityReceipt.status == "read"
            return or_(ActivityReceipt.status == "read", and_(ActivityReceipt.id.is_(None), by_checkpoint))
        after = ActivityEvent.created_at > self.until if self.until is not None else true()
        return and_(ActivityReceipt.id.is_(None), after)

    def entry(self, row: ActivityEvent, receipt: str | None) -> Entry:
        if receipt is not None:
            return Entry(row, receipt)
        read = self.until is not None and row.created_at <= self.until
        return Entry(row, "read" if read else "unread")


async def _view(s: AsyncSession, reader: str) -> _View:
    until = await s.scalar(select(ActivityCheckpoint.read_until).where(ActivityCheckpoint.reader == reader))
    return _View(reader, until)


def _utc(moment: datetime | None) -> datetime | None:
    """A moment without a zone is UTC (a query string may say `2026-01-01T00:00:00`)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _filtered(
    query: Select[ActivityEvent, str | None], view: _View, wanted: Filter
) -> Select[ActivityEvent, str | None]:
    if wanted.status is not None and wanted.status not in STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(STATUSES)}.",
            details=[{"field": "status", "type": "enum", "message": f"Input should be {', '.join(STATUSES)}"}],
        )
    exact = {
        ActivityEvent.action: wanted.action,
        ActivityEvent.actor_id: wanted.actor_id,
        ActivityEvent.object_type: wanted.object_type,
        ActivityEvent.object_id: wanted.object_id,
        ActivityEvent.status: wanted.status,
        ActivityEvent.request_id: wanted.request_id,
    }
    for column, value in exact.items():
        if value is not None:
            query = query.where(column == value)
    if (after := _utc(wanted.created_after)) is not None:
        query = query.where(ActivityEvent.created_at >= after)
    if (before := _utc(wanted.created_before)) is not None:
        query = query.where(ActivityEvent.created_at <= before)
    if wanted.read_state is not None:
        query = query.where(view.state(wanted.read_state))
    return query


NEWEST_FIRST = (ActivityEvent.created_at.desc(), ActivityEvent.id.desc())


async def _unread(s: AsyncSession, view: _View) -> int:
    query = view.select().where(view.state("unread")).with_only_columns(func.count(ActivityEvent.id))
    return int(await s.scalar(query) or 0)


async def feed(ctx: Context, wanted: Filter, limit: int, cursor: str | None) -> FeedPage:
    """The tenant's events, newest first, one page by cursor, with the caller's read state."""
    reader = await _reader(ctx)
    position = decode_cursor(cursor, {"t": timestamp, "i": identifier})
    async with ctx.session() as s:
        view = await _view(s, reader)
        query = _filtered(view.select(), view, wanted)
        if position is not None:
            at, pk = position["t"], position["i"]
            query = query.where(
                or_(ActivityEvent.created_at < at, and_(ActivityEvent.created_at == at, ActivityEvent.id < pk))
            )
        rows = (await s.execute(query.order_by(*NEWEST_FIRST).limit(limit + 1))).all()
        unread = await _unread(s, view)
    more = len(rows) > limit
    items = [view.entry(row, receipt) for row, receipt in rows[:limit]]
    last = items[-1].event if more else None
    next_cursor = encode_cursor({"t": last.created_at.isoformat(), "i": str(last.id)}) if last else None
    return FeedPage(items, next_cursor, unread)


async def feed_page(ctx: Context, wanted: Filter, offset: int, limit: int) -> Page[Entry]:
    """The tenant's events, newest first, one page by offset (the graph's connection)."""
    reader = await _reader(ctx)
    async with ctx.session() as s:
        view = await _view(s, reader)
        query = _filtered(view.select(), view, wanted)
        total = await s.scalar(query.with_only_columns(func.count(ActivityEvent.id)))
        rows = (await s.execute(query.order_by(*NEWEST_FIRST).offset(offset).limit(limit))).all()
    return Page([view.entry(row, receipt) for row, receipt in rows], int(total or 0))


async def unread_count(ctx: Context) -> int:
    reader = await _reader(ctx)
    async with ctx.session() as s:
        return await _unread(s, await _view(s, reader))


async def entries_by_ids(ctx: Context, ids: Sequence[uuid.UUID | None]) -> list[Entry | None]:
    """The tenant's events with these ids, in order, as the caller sees them; None for another
    tenant's or a missing one."""
    reader = await _reader(ctx)
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return [None for _ in ids]
    async with ctx.session() as s:
        view = await _view(s, reader)
        rows = (await s.execute(view.select().where(ActivityEvent.id.in_(wanted)))).all()
    found = {row.id: view.entry(row, receipt) for row, receipt in rows}
    return [found.get(i) if i is not None else None for i in ids]


def event_id(raw: str, field: str = "event_id") -> uuid.UUID:
    """A REST path's event id (the legacy service answered 400 for one that is not a UUID)."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest("event_id must be a valid UUID.", details=[{"field": field}]) from None


# -- the reader's state ---------------------------------------------------------------------------


async def mark(ctx: Context, event: uuid.UUID, state: str) -> Entry:
    """Mark one event `read` or `dismissed` for the caller (another tenant's: not found)."""
    assert state in ("read", "dismissed")
    reader = await _reader(ctx)
    async with ctx.session() as s:
        row = await s.get(ActivityEvent, event)
        if row is None:
            raise NotFound("Activity event not found.")
        created = await insert_if_absent(
            s,
            ActivityReceipt,
            id=uuid.uuid4(),
            event_id=event,
            reader=reader,
            status=state,
            updated_at=datetime.now(UTC),
        )
        if not created:
            await s.execute(
                update(ActivityReceipt)
                .where(ActivityReceipt.event_id == event, ActivityReceipt.reader == reader)
                .values(status=state, updated_at=datetime.now(UTC))
                .execution_options(synchronize_session=False)
            )
        await s.commit()
    return Entry(row, state)


async def mark_all(ctx: Context, until: datetime | None = None) -> int:
    """Everything created up to `until` (now by default) is read for the caller, except what it
    dismissed; other readers' state is untouched. A checkpoint only moves forward. Returns the
    caller's unread count after it."""
    reader = await _reader(ctx)
    moment = min(_utc(until) or datetime.now(UTC), datetime.now(UTC))
    async with ctx.session() as s:
        created = await insert_if_absent(s, ActivityCheckpoint, id=uuid.uuid4(), reader=reader, read_until=moment)
        if not created:
            await s.execute(
                update(ActivityCheckpoint)
                .where(ActivityCheckpoint.reader == reader, ActivityCheckpoint.read_until < moment)
                .values(read_until=moment)
                .execution_options(synchronize_session=False)
            )
        await s.commit()
        return await _unread(s, await _view(s, reader))


# -- live -----------------------------------------------------------------------------------------


async def stream(ctx: Context, after: uuid.UUID | None = None) -> AsyncIterator[Entry]:
    """The tenant's events as they are recorded. With `after` (the id of the last event a reader
    saw), the events recorded since then come first, from the database (at most REPLAY_MAX), then
    the live ones, none twice. An `after` that names no event of this tenant replays nothing."""
    reader = await _reader(ctx)
    tenant_id = (await ctx.tenant_context()).tenant_id
    async with ctx.bus.subscribe(channel(tenant_id)) as messages:
        seen: set[uuid.UUID] = set()
        if after is not None:
            for entry in await _since(ctx, reader, after):
                seen.add(entry.event.id)
                yield entry
        async for message in messages:
            try:
                row = from_document(message)
            except (KeyError, ValueError, TypeError):
                log.warning("activity: a malformed message on %s", channel(tenant_id))
                continue
            if row.id in seen:
                continue
            yield Entry(row, "unread")


async def _since(ctx: Context, reader: str, after: uuid.UUID) -> list[Entry]:
    async with ctx.session() as s:
        anchor = await s.get(ActivityEvent, after)
        if anchor is None:
            return []
        view = await _view(s, reader)
        query = view.select().where(
            or_(
                ActivityEvent.created_at > anchor.created_at,
                and_(ActivityEvent.created_at == anchor.created_at, ActivityEvent.id > anchor.id),
            )
        )
        rows = (await s.execute(query.order_by(ActivityEvent.created_at, ActivityEvent.id).limit(REPLAY_MAX))).all()
    return [view.entry(row, receipt) for row, receipt in rows]


# -- retention ------------------------------------------------------------------------------------


async def purge_older(db: Database, retention_days: int) -> int:
    """Delete up to PURGE_BATCH events older than `retention_days` (every tenant's: the platform's
    upkeep), their receipts with them; how many were deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    batch = select(ActivityEvent.id).where(ActivityEvent.created_at < cutoff).limit(PURGE_BATCH)
    async with db.platform_session() as s:
        ids = list(await s.scalars(batch))
        if not ids:
            return 0
        await s.execute(
            delete(ActivityReceipt)
            .where(ActivityReceipt.event_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        result = await s.execute(
            delete(ActivityEvent).where(ActivityEvent.id.in_(ids)).execution_options(synchronize_session=False)
        )
        await s.commit()
    return rowcount(result) or 0
