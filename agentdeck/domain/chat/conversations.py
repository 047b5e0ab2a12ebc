"""Conversations of the caller's tenant: list, full-text search, history, ledger events, delete."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import BindParameter, Executable, Integer, String, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import aliased

from agentdeck.context import Context
from agentdeck.db.models import Conversation, ConversationEvent, ConversationMessage
from agentdeck.db.session import execute_core, session_tenant
from agentdeck.domain.agents import updates
from agentdeck.domain.agents.memory import MODES, TURNS, MemoryConfig
from agentdeck.domain.agents.search import SearchHit, count_matching, search_messages
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor, identifier, offset, timestamp
from agentdeck.domain.common.results import CursorPage, Page
from agentdeck.errors import InvalidInput, NotFound

# The keyset cursor of conversations and messages: the last row's moment and id.
KEYSET = {"ts": timestamp, "id": identifier}
SEARCH_PAGE_SIZE = Limit(ge=1, le=50)  # ranking is the costly part: smaller pages than lists
MESSAGE_PAGE_SIZE = Limit(ge=1, le=100)


@dataclass
class Transcript:
    """A conversation and its messages, oldest first."""

    conversation: Conversation
    messages: list[ConversationMessage]


@dataclass
class EventLedger:
    conversation_id: uuid.UUID
    items: list[ConversationEvent]


def _id(raw: str, field_name: str = "conversation_id") -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("Conversation not found.") from None


class ConversationSummary(Protocol):
    """What a conversation list shows of each conversation: a row of `SUMMARY` (no ORM object is
    built for a read-only page; building them was most of a list read's time)."""

    id: uuid.UUID
    display_name: str | None
    agent_entrypoint: str | None
    active_agent: str | None
    status: str
    message_count: int
    last_message_preview: str
    created_at: datetime
    updated_at: datetime


COLUMNS = tuple(getattr(Conversation, column.key) for column in Conversation.__mapper__.column_attrs)
SUMMARY = (
    Conversation.id,
    Conversation.display_name,
    Conversation.agent_entrypoint,
    Conversation.active_agent,
    Conversation.status,
    Conversation.message_count,
    Conversation.last_message_preview,
    Conversation.created_at,
    Conversation.updated_at,
)


def _summary_page(by_agent: bool, after: bool) -> Executable:
    """The list's statement, built once per shape (filtered by agent, resumed after a cursor):
    the tenant is a bound parameter, so no per-request criterion or cache key is built."""
    query = select(*SUMMARY).where(Conversation.tenant_id == bindparam("tenant"))
    if by_agent:
        query = query.where(Conversation.agent_entrypoint == bindparam("agent"))
    if after:
        ts: BindParameter[datetime] = bindparam("ts")
        cid: BindParameter[uuid.UUID] = bindparam("cid")
        query = query.where(
            or_(Conversation.updated_at < ts, and_(Conversation.updated_at == ts, Conversation.id < cid))
        )
    return query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(bindparam("limit"))


SUMMARY_PAGES = {(agent, after): _summary_page(agent, after) for agent in (False, True) for after in (False, True)}


async def list_conversations(
    ctx: Context, first: int, after: str | None, agent: str | None
) -> CursorPage[ConversationSummary]:
    await require_role(ctx, "viewer")
    cursor = decode_cursor(after, KEYSET)
    params: dict[str, Any] = {"limit": first + 1, "agent": agent}
    if cursor is not None:
        params |= {"ts": cursor["ts"], "cid": cursor["id"]}
    async with ctx.session() as s:
        params["tenant"] = session_tenant(s)
        result = await execute_core(s, SUMMARY_PAGES[bool(agent), cursor is not None], params)
        rows = cast("list[ConversationSummary]", list(result.all()))
    more, rows = len(rows) > first, rows[:first]
    next_cursor = encode_cursor({"ts": rows[-1].updated_at.isoformat(), "id": str(rows[-1].id)}) if more else None
    return CursorPage(rows, next_cursor)


async def search_conversations(
    ctx: Context, q: str, first: int, after: str | None, agent: str | None
) -> CursorPage[SearchHit]:
    cursor = decode_cursor(after, {"offset": offset})
    start = cursor["offset"] if cursor else 0
    hits = await search_messages(ctx, q, limit=first + 1, offset=start, agent=agent)
    more = len(hits) > first
    return CursorPage(hits[:first], encode_cursor({"offset": start + first}) if more else None)


async def get_history(ctx: Context, conversation_id: str) -> Transcript:
    await require_role(ctx, "viewer")
    cid = _id(conversation_id)
    async with ctx.session() as s:
        conversation = await s.get(Conversation, cid)
        if conversation is None:
            raise NotFound("Conversation not found.")
        messages = list(
            (
                await s.scalars(
                    select(ConversationMessage)
                    .where(ConversationMessage.conversation_id == cid)
                    .order_by(ConversationMessage.created_at, ConversationMessage.id)
                )
            ).all()
        )
    return Transcript(conversation, messages)


async def conversation_events(ctx: Context, conversation_id: str, workflow_run_id: str | None) -> EventLedger:
    await require_role(ctx, "viewer")
    cid = _id(conversation_id)
    async with ctx.session() as s:
        if await s.get(Conversation, cid) is None:
            raise NotFound("Conversation not found.")
        query = select(ConversationEvent).where(ConversationEvent.conversation_id == cid)
        if workflow_run_id:
            query = query.where(ConversationEvent.workflow_run_id == workflow_run_id)
        items = list((await s.scalars(query.order_by(ConversationEvent.sequence_no))).all())
    return EventLedger(cid, items)


async def delete_conversation(ctx: Context, conversation_id: str) -> bool:
    await require_role(ctx, "admin")
    cid = _id(conversation_id)
    async with ctx.session() as s:
        conversation = await s.get(Conversation, cid)
        if conversation is None:
            raise NotFound("Conversation not found.")
        # Messages, ledger events and runs go with it (ON DELETE CASCADE); explicit deletes keep
        # SQLite's full-text index triggers and any backend without cascades honest.
        await s.execute(delete(ConversationMessage).where(ConversationMessage.conversation_id == cid))
        await s.execute(delete(ConversationEvent).where(ConversationEvent.conversation_id == cid))
        last = updates.snapshot(conversation, "deleted")
        await s.delete(conversation)
        await s.commit()
    await updates.publish_deleted(ctx, conversation.tenant_id, last)
    return True


# -- messages by keyset page, the memory strategy, live updates ---------------------------------

MESSAGE_DIRECTIONS = ("asc", "desc")


async def message_page(
    ctx: Context, conversation_id: str, limit: int, cursor: str | None, direction: str = "desc"
) -> CursorPage[ConversationMessage]:
    """A page of the conversation's messages, newest first (`desc`) or oldest first (`asc`),
    after `cursor` (the previous page's `next_cursor`: base64url JSON `{"ts", "id"}`)."""
    await require_role(ctx, "viewer")
    if direction not in MESSAGE_DIRECTIONS:
        raise InvalidInput(
            "direction must be asc or desc.",
            details=[{"field": "direction", "message": "Input should be 'asc' or 'desc'"}],
        )
    cid = _id(conversation_id)
    position = decode_cursor(cursor, KEYSET)
    newest_first = direction == "desc"
    order = (
        (ConversationMessage.created_at.desc(), ConversationMessage.id.desc())
        if newest_first
        else (ConversationMessage.created_at, ConversationMessage.id)
    )
    query = select(ConversationMessage).where(ConversationMessage.conversation_id == cid).order_by(*order)
    if position is not None:
        ts, mid = position["ts"], position["id"]
        if newest_first:
            beyond = or_(
                ConversationMessage.created_at < ts,
                and_(ConversationMessage.created_at == ts, ConversationMessage.id < mid),
            )
        else:
            beyond = or_(
                ConversationMessage.created_at > ts,
                and_(ConversationMessage.created_at == ts, ConversationMessage.id > mid),
            )
        query = query.where(beyond)
    async with ctx.session() as s:
        if await s.get(Conversation, cid) is None:
            raise NotFound("Conversation not found.")
        rows = list((await s.scalars(query.limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = encode_cursor({"ts": last.created_at.isoformat(), "id": str(last.id)}) if more and last else None
    return CursorPage(rows, next_cursor)


def _check_memory(config: MemoryConfig, prefix: str) -> None:
    """Refuse an unknown mode or a turn count out of bounds, naming the field (`prefix.<name>`)."""
    problems: list[dict[str, Any]] = []
    if config.mode is not None and config.mode not in MODES:
        problems.append(
            {
                "field": f"{prefix}mode",
                "type": "enum",
                "message": "Input should be 'none', 'trim', 'summarize' or 'compact'",
            }
        )
    for name in ("max_user_turns", "keep_last_turns", "compact_trigger_turns", "compact_keep"):
        problems += TURNS.problems(getattr(config, name), f"{prefix}{name}")
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


async def update_memory(
    ctx: Context, conversation_id: str, changes: dict[str, Any], prefix: str = "input."
) -> MemoryConfig:
    """Set the fields of the conversation's memory strategy named in `changes` (a None value
    clears that field; fields not named keep their value); the whole strategy after the change.
    Bad values change nothing (InvalidInput naming `prefix` + the field)."""
    await require_role(ctx, "admin")
    known = {f for f in MemoryConfig.__dataclass_fields__}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidInput(
            f"Unknown memory setting '{unknown[0]}'.",
            details=[{"field": f"{prefix}{unknown[0]}", "message": "Extra inputs are not permitted"}],
        )
    cid = _id(conversation_id)
    _check_memory(MemoryConfig(**changes), prefix)
    async with ctx.session() as s:
        row = await s.get(Conversation, cid)
        if row is None:
            raise NotFound("Conversation not found.")
        config = replace(MemoryConfig.of(row), **changes)
        if changes:
            await s.execute(
                update(Conversation)
                .where(Conversation.id == cid)
                .values({MemoryConfig.column(name): value for name, value in changes.items()})
                .execution_options(synchronize_session=False)
            )
            await s.commit()
    if changes:
        await updates.publish_update(ctx, cid, "memory_updated")
    return config


async def memory_config(ctx: Context, conversation_id: uuid.UUID) -> MemoryConfig:
    await require_role(ctx, "viewer")
    return MemoryConfig.of(await get_conversation(ctx, conversation_id))


async def conversation_updates(ctx: Context, conversation_id: str) -> AsyncIterator[dict[str, Any]]:
    """The conversation's state now (`snapshot`), then after every change, until it is deleted
    (its last update, reason `deleted`). Subscribed before the snapshot is read: nothing between
    is missed."""
    tc = await require_role(ctx, "viewer")
    cid = _id(conversation_id)
    async with ctx.bus.subscribe(updates.channel(tc.tenant_id, cid)) as messages:
        async with ctx.session() as s:
            row = await s.get(Conversation, cid)
        if row is None:
            raise NotFound("Conversation not found.")
        yield updates.snapshot(row, "snapshot")
        async for message in messages:
            yield message
            if message.get("reason") == "deleted":
                return


# -- reads of the native graph: offset pages with totals, and batched reads for DataLoaders ----


def _page_statement(by_agent: bool) -> Any:
    """A page of the tenant's conversations and the count of the whole list in one statement,
    built once, run past the ORM (`execute_core`) with the tenant, offset, limit and agent bound
    per call: building the Select, its cache key and the ORM's tenant criterion was per request.
    The count is an uncorrelated scalar subquery (counted once, on the tenant's index), not a
    window over the rows, which made the database read and sort every row of the list to return
    one page. Rows of the model's columns but the owners' ids, not ORM objects (nothing on a page
    is changed, and no reader of a page needs whose it is: it is the caller's tenant's)."""
    where = _page_where(by_agent)
    count = select(func.count(Conversation.id)).where(*where).correlate(None).scalar_subquery()
    return (
        select(*PAGE_COLUMNS, count.label("total"))
        .where(*where)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


def _page_where(by_agent: bool) -> list[Any]:
    where = [Conversation.tenant_id == bindparam("tenant")]
    if by_agent:
        where.append(Conversation.agent_entrypoint == bindparam("agent", type_=String))
    return where


PAGE_COLUMNS = tuple(c for c in COLUMNS if c.key not in ("tenant_id", "user_id"))
_PAGE = {by_agent: _page_statement(by_agent) for by_agent in (False, True)}
_COUNT = {by_agent: select(func.count(Conversation.id)).where(*_page_where(by_agent)) for by_agent in (False, True)}


async def conversation_page(ctx: Context, offset: int, limit: int, agent: str | None = None) -> Page[Conversation]:
    """The tenant's conversations, most recently active first."""
    await require_role(ctx, "viewer")
    params: dict[str, Any] = {"offset": offset, "limit": limit}
    if agent:
        params["agent"] = agent
    async with ctx.session() as s:
        params["tenant"] = session_tenant(s)
        found = (await execute_core(s, _PAGE[bool(agent)], params)).all()
        if found:
            return Page(cast("list[Conversation]", found), found[0].total)
        # Only a page past the end needs the count on its own.
        total = (await execute_core(s, _COUNT[bool(agent)], params)).scalar() or 0
    return Page([], total)


async def find_conversations(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, Conversation]:
    """The tenant's conversations among `ids` (another tenant's, or missing ones, are absent)."""
    await require_role(ctx, "viewer")
    if not ids:
        return {}
    async with ctx.session() as s:
        rows = (await s.scalars(select(Conversation).where(Conversation.id.in_(ids)))).all()
    return {row.id: row for row in rows}


async def get_conversation(ctx: Context, conversation_id: uuid.UUID) -> Conversation:
    found = (await find_conversations(ctx, [conversation_id])).get(conversation_id)
    if found is None:
        raise NotFound("Conversation not found.")
    return found


async def _pages(
    ctx: Context, model: Any, ids: list[uuid.UUID], order: tuple[Any, ...], where: list[Any], offset: int, limit: int
) -> dict[uuid.UUID, Page[Any]]:
    """The same window of a child list (ordered by `order`) of each conversation among `ids`:
    two statements for any number of conversations (the windows, the counts)."""
    await require_role(ctx, "viewer")
    if not ids:
        return {}
    conditions = [model.conversation_id.in_(ids), *where]
    position = func.row_number().over(partition_by=model.conversation_id, order_by=order).label("position")
    ranked = select(model, position).where(*conditions).subquery()
    child = aliased(model, ranked)
    window = (
        select(child)
        .where(ranked.c.position > offset, ranked.c.position <= offset + limit)
        .order_by(ranked.c.conversation_id, ranked.c.position)
    )
    counts = select(model.conversation_id, func.count(model.id)).where(*conditions).group_by(model.conversation_id)
    items: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
    async with ctx.session() as s:
        for row in (await s.scalars(window)).all():
            items[row.conversation_id].append(row)
        totals: dict[uuid.UUID, int] = dict((await s.execute(counts)).tuples().all())
    return {i: Page(items[i], totals.get(i, 0)) for i in ids}


async def message_pages(
    ctx: Context, ids: list[uuid.UUID], offset: int, limit: int
) -> dict[uuid.UUID, Page[ConversationMessage]]:
    """The same window of the messages (oldest first) of each conversation among `ids`."""
    order = (ConversationMessage.created_at, ConversationMessage.id)
    return await _pages(ctx, ConversationMessage, ids, order, [], offset, limit)


async def event_pages(
    ctx: Context, ids: list[uuid.UUID], workflow_run_id: str | None, offset: int, limit: int
) -> dict[uuid.UUID, Page[ConversationEvent]]:
    """The same window of the ledger events (in sequence order; those of one workflow run, if
    named) of each conversation among `ids`."""
    where = [ConversationEvent.workflow_run_id == workflow_run_id] if workflow_run_id else []
    return await _pages(ctx, ConversationEvent, ids, (ConversationEvent.sequence_no,), where, offset, limit)


async def find_messages(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, ConversationMessage]:
    """The tenant's messages among `ids` (another tenant's, or missing ones, are absent)."""
    await require_role(ctx, "viewer")
    if not ids:
        return {}
    async with ctx.session() as s:
        rows = (await s.scalars(select(ConversationMessage).where(ConversationMessage.id.in_(ids)))).all()
    return {row.id: row for row in rows}


async def last_messages(ctx: Context, ids: list[uuid.UUID]) -> dict[uuid.UUID, ConversationMessage]:
    """The newest message of each conversation among `ids`, in one statement (ties on the time
    broken by id, as `get_history` orders them)."""
    await require_role(ctx, "viewer")
    if not ids:
        return {}
    newer = aliased(ConversationMessage)
    latest = (
        select(func.max(newer.created_at))
        .where(newer.conversation_id == ConversationMessage.conversation_id)
        .scalar_subquery()
    )
    query = select(ConversationMessage).where(
        ConversationMessage.conversation_id.in_(ids), ConversationMessage.created_at == latest
    )
    out: dict[uuid.UUID, ConversationMessage] = {}
    async with ctx.session() as s:
        for row in (await s.scalars(query)).all():
            kept = out.get(row.conversation_id)
            if kept is None or row.id > kept.id:
                out[row.conversation_id] = row
    return out


async def search_page(ctx: Context, q: str, offset: int, limit: int) -> Page[SearchHit]:
    """Conversations matching `q`, best first, with how many match in all."""
    hits = await search_messages(ctx, q, limit=limit, offset=offset)
    return Page(hits, await count_matching(ctx, q))
