"""Conversations of the caller's tenant: list, full-text search, history, ledger events, delete."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, text

from agentdeck.context import Context
from agentdeck.db.models import Conversation, ConversationEvent, ConversationMessage
from agentdeck.errors import InvalidInput, NotFound
from agentdeck.resolvers.access import require_role
from agentdeck.resolvers.limits import Limit
from agentdeck.resolvers.pagination import decode_cursor, encode_cursor

SEARCH_PAGE_SIZE = Limit(ge=1, le=50)  # ranking is the costly part: smaller pages than lists


@dataclass
class ConversationPage:
    items: list[Conversation]
    next_cursor: str | None


@dataclass
class SearchHit:
    conversation_id: uuid.UUID
    display_name: str | None
    agent_entrypoint: str | None
    active_agent: str | None
    topic_hint: str | None
    status: str | None
    preview: str
    last_message_preview: str | None
    score: float
    updated_at: datetime | None


@dataclass
class SearchPage:
    items: list[SearchHit]
    next_cursor: str | None


@dataclass
class HistoryMessage:
    message_id: str
    role: str
    content: str
    timestamp: datetime
    attachments: list[Any] = field(default_factory=list)


@dataclass
class History:
    conversation_id: uuid.UUID
    display_name: str | None
    messages: list[HistoryMessage]
    created_at: datetime
    updated_at: datetime
    agent_context: dict[str, Any] | None


@dataclass
class EventLedger:
    conversation_id: uuid.UUID
    items: list[ConversationEvent]


def _id(raw: str, field_name: str = "conversation_id") -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("Conversation not found.") from None


async def list_conversations(ctx: Context, first: int, after: str | None, agent: str | None) -> ConversationPage:
    await require_role(ctx, "viewer")
    cursor = decode_cursor(after, ("ts", "id"))
    query = select(Conversation).order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(first + 1)
    if agent:
        query = query.where(Conversation.agent_entrypoint == agent)
    if cursor is not None:
        ts, cid = datetime.fromisoformat(cursor["ts"]), _id(cursor["id"])
        query = query.where(or_(Conversation.updated_at < ts, and_(Conversation.updated_at == ts, Conversation.id < cid)))
    async with ctx.session() as s:
        rows = list((await s.scalars(query)).all())
    more, rows = len(rows) > first, rows[:first]
    next_cursor = encode_cursor({"ts": rows[-1].updated_at.isoformat(), "id": str(rows[-1].id)}) if more else None
    return ConversationPage(rows, next_cursor)


def _fts_query(q: str, dialect: str) -> str:
    words = re.findall(r"\w+", q.lower())[:16]
    if not words:
        raise InvalidInput("q must contain a word.", details=[{"field": "q", "message": "q must contain a word"}])
    if dialect == "sqlite":
        return " ".join(f'"{w}"*' for w in words)  # every word, as a prefix
    return " & ".join(f"{w}:*" for w in words)


async def search_messages(ctx: Context, q: str, limit: int = 20, offset: int = 0,
                          agent: str | None = None) -> list[SearchHit]:
    """The best-matching message per conversation, best conversations first (BM25 / ts_rank)."""
    tc = await require_role(ctx, "viewer")
    dialect = ctx.services.db.engine.dialect.name
    match = _fts_query(q, dialect)
    if dialect == "sqlite":
        hits_sql = """
            SELECT m.conversation_id AS cid, m.content AS content, -bm25(conversation_messages_fts) AS score
            FROM conversation_messages_fts JOIN conversation_messages m ON m.rowid = conversation_messages_fts.rowid
            WHERE conversation_messages_fts MATCH :match AND m.tenant_id = :tenant"""
        tenant: Any = tc.tenant_id.hex
    else:
        hits_sql = """
            SELECT m.conversation_id AS cid, m.content AS content,
                   ts_rank(m.search_vector, to_tsquery('simple', :match)) AS score
            FROM conversation_messages m
            WHERE m.search_vector @@ to_tsquery('simple', :match) AND m.tenant_id = :tenant"""
        tenant = tc.tenant_id
    ranked = f"""
        SELECT cid, content, score FROM (
            SELECT cid, content, score, ROW_NUMBER() OVER (PARTITION BY cid ORDER BY score DESC) AS n
            FROM ({hits_sql}) AS hits) AS best
        WHERE n = 1 ORDER BY score DESC, cid LIMIT :limit OFFSET :offset"""
    async with ctx.session() as s:
        rows = (await s.execute(text(ranked), {"match": match, "tenant": tenant, "limit": limit, "offset": offset})).all()
        ids = [uuid.UUID(str(r.cid)) if not isinstance(r.cid, uuid.UUID) else r.cid for r in rows]
        conversations = {c.id: c for c in (await s.scalars(select(Conversation).where(Conversation.id.in_(ids)))).all()}
    hits = []
    for row, cid in zip(rows, ids, strict=True):
        c = conversations.get(cid)
        if c is None or (agent and c.agent_entrypoint != agent):
            continue
        hits.append(SearchHit(cid, c.display_name, c.agent_entrypoint, c.active_agent, None, c.status,
                              row.content[:280], c.last_message_preview, round(float(row.score), 6), c.updated_at))
    return hits


async def search_conversations(ctx: Context, q: str, first: int, after: str | None, agent: str | None) -> SearchPage:
    cursor = decode_cursor(after, ("offset",))
    offset = int(cursor["offset"]) if cursor else 0
    hits = await search_messages(ctx, q, limit=first + 1, offset=offset, agent=agent)
    more = len(hits) > first
    return SearchPage(hits[:first], encode_cursor({"offset": offset + first}) if more else None)


async def get_history(ctx: Context, conversation_id: str) -> History:
    await require_role(ctx, "viewer")
    cid = _id(conversation_id)
    async with ctx.session() as s:
        conversation = await s.get(Conversation, cid)
        if conversation is None:
            raise NotFound("Conversation not found.")
        messages = (await s.scalars(
            select(ConversationMessage).where(ConversationMessage.conversation_id == cid)
            .order_by(ConversationMessage.created_at, ConversationMessage.id)
        )).all()
    return History(
        conversation_id=cid,
        display_name=conversation.display_name,
        messages=[HistoryMessage(str(m.id), m.role, m.content, m.created_at, list(m.attachments)) for m in messages],
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        agent_context={"agent_entrypoint": conversation.agent_entrypoint, "active_agent": conversation.active_agent},
    )


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
        await s.delete(conversation)
        await s.commit()
    return True
