"""Conversation search: the query behind the `search_conversations` tool of the agent loop and
the conversation search of the chat API."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text

from agentdeck.context import Context
from agentdeck.db.models import Conversation
from agentdeck.domain.common.access import require_role
from agentdeck.errors import InvalidInput


@dataclass
class SearchHit:
    """A conversation, its best-matching message (`preview`, cut) and that message's rank."""

    conversation: Conversation
    preview: str
    score: float


def _fts_query(q: str, dialect: str) -> str:
    words = re.findall(r"\w+", q.lower())[:16]
    if not words:
        raise InvalidInput("q must contain a word.", details=[{"field": "q", "message": "q must contain a word"}])
    if dialect == "sqlite":
        return " ".join(f'"{w}"*' for w in words)  # every word, as a prefix
    return " & ".join(f"{w}:*" for w in words)


def _hits(ctx: Context, q: str, tenant_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    """The statement of every message of the tenant matching `q` (cid, content, score), and its
    parameters."""
    dialect = ctx.services.db.engine.dialect.name
    match = _fts_query(q, dialect)
    if dialect == "sqlite":
        hits_sql = """
            SELECT m.conversation_id AS cid, m.content AS content, -bm25(conversation_messages_fts) AS score
            FROM conversation_messages_fts JOIN conversation_messages m ON m.rowid = conversation_messages_fts.rowid
            WHERE conversation_messages_fts MATCH :match AND m.tenant_id = :tenant"""
        tenant: Any = tenant_id.hex
    else:
        hits_sql = """
            SELECT m.conversation_id AS cid, m.content AS content,
                   ts_rank(m.search_vector, to_tsquery('simple', :match)) AS score
            FROM conversation_messages m
            WHERE m.search_vector @@ to_tsquery('simple', :match) AND m.tenant_id = :tenant"""
        tenant = tenant_id
    return hits_sql, {"match": match, "tenant": tenant}


async def count_matching(ctx: Context, q: str) -> int:
    """How many of the tenant's conversations have a message matching `q`."""
    tc = await require_role(ctx, "viewer")
    hits_sql, params = _hits(ctx, q, tc.tenant_id)
    async with ctx.session() as s:
        counted = await s.scalar(text(f"SELECT COUNT(DISTINCT cid) FROM ({hits_sql}) AS hits"), params)
    return int(counted or 0)


async def search_messages(
    ctx: Context, q: str, limit: int = 20, offset: int = 0, agent: str | None = None
) -> list[SearchHit]:
    """The best-matching message per conversation, best conversations first (BM25 / ts_rank)."""
    tc = await require_role(ctx, "viewer")
    hits_sql, params = _hits(ctx, q, tc.tenant_id)
    ranked = f"""
        SELECT cid, content, score FROM (
            SELECT cid, content, score, ROW_NUMBER() OVER (PARTITION BY cid ORDER BY score DESC) AS n
            FROM ({hits_sql}) AS hits) AS best
        WHERE n = 1 ORDER BY score DESC, cid LIMIT :limit OFFSET :offset"""
    async with ctx.session() as s:
        rows = (await s.execute(text(ranked), {**params, "limit": limit, "offset": offset})).all()
        ids = [uuid.UUID(str(r.cid)) if not isinstance(r.cid, uuid.UUID) else r.cid for r in rows]
        conversations = {c.id: c for c in (await s.scalars(select(Conversation).where(Conversation.id.in_(ids)))).all()}
    hits = []
    for row, cid in zip(rows, ids, strict=True):
        c = conversations.get(cid)
        if c is None or (agent and c.agent_entrypoint != agent):
            continue
        hits.append(SearchHit(c, row.content[:280], round(float(row.score), 6)))
    return hits
