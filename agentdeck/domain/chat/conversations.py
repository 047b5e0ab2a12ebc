"""Conversations of the caller's tenant: list, full-text search, history, ledger events, delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, or_, select

from agentdeck.context import Context
from agentdeck.db.models import Conversation, ConversationEvent, ConversationMessage
from agentdeck.domain.agents.search import SearchHit, search_messages
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.pagination import decode_cursor, encode_cursor
from agentdeck.domain.common.results import CursorPage
from agentdeck.errors import NotFound

SEARCH_PAGE_SIZE = Limit(ge=1, le=50)  # ranking is the costly part: smaller pages than lists


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


async def list_conversations(
    ctx: Context, first: int, after: str | None, agent: str | None
) -> CursorPage[Conversation]:
    await require_role(ctx, "viewer")
    cursor = decode_cursor(after, ("ts", "id"))
    query = select(Conversation).order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(first + 1)
    if agent:
        query = query.where(Conversation.agent_entrypoint == agent)
    if cursor is not None:
        ts, cid = datetime.fromisoformat(cursor["ts"]), _id(cursor["id"])
        query = query.where(
            or_(Conversation.updated_at < ts, and_(Conversation.updated_at == ts, Conversation.id < cid))
        )
    async with ctx.session() as s:
        rows = list((await s.scalars(query)).all())
    more, rows = len(rows) > first, rows[:first]
    next_cursor = encode_cursor({"ts": rows[-1].updated_at.isoformat(), "id": str(rows[-1].id)}) if more else None
    return CursorPage(rows, next_cursor)


async def search_conversations(
    ctx: Context, q: str, first: int, after: str | None, agent: str | None
) -> CursorPage[SearchHit]:
    cursor = decode_cursor(after, ("offset",))
    offset = int(cursor["offset"]) if cursor else 0
    hits = await search_messages(ctx, q, limit=first + 1, offset=offset, agent=agent)
    more = len(hits) > first
    return CursorPage(hits[:first], encode_cursor({"offset": offset + first}) if more else None)


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
        await s.delete(conversation)
        await s.commit()
    return True
