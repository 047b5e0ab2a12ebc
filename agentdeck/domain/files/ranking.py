"""Offline ranking: BM25 over the database's own full-text index, one query per dialect.

- SQLite: the FTS5 table `vector_chunks_fts` (porter stemmer) and its built-in `bm25()`.
  FTS5 keeps one set of statistics for the whole table, so IDF is computed over every store's
  chunks (rankings within a store are still ordered by BM25; scores are not tenant-private
  statistics, but no other tenant's text is ever returned).
- PostgreSQL: the generated `tsv` column (english configuration, GIN index) selects the
  candidates, and BM25 (k1 = 1.2, b = 0.75) is computed in SQL from each chunk's lexeme
  positions, with IDF over the store's own chunks.

Scores are BM25 mapped to [0, 1) by `s / (1 + s)` (monotonic), so `score_threshold` works on
the same scale as OpenAI's.

With OpenAI configured, chunks carry embeddings and `by_embedding` ranks them by cosine
similarity instead (a scan of the store's vectors in a thread: fine for the stores this serves;
pgvector or OpenAI-hosted stores are the step beyond).
"""

from __future__ import annotations

import heapq
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from operator import mul

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

K1, B = 1.2, 0.75
TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    file_id: uuid.UUID
    text: str
    score: float


SQLITE = """
SELECT c.id, c.file_id, c.text, -bm25(vector_chunks_fts) AS score
FROM vector_chunks_fts JOIN vector_chunks c ON c.id = vector_chunks_fts.rowid
WHERE vector_chunks_fts MATCH :q AND c.tenant_id = :tenant AND c.vector_store_id = :vs
  AND c.file_id IN :files
ORDER BY score DESC, c.id
LIMIT :k
"""

PG_TERMS = "SELECT tsvector_to_array(to_tsvector('english', :q))"

# The candidates come from the GIN index (any query lexeme); IDF is over the store's chunks.
POSTGRES = f"""
WITH cand AS MATERIALIZED (
  SELECT id, file_id, text, token_count, tsv FROM vector_chunks
  WHERE tsv @@ CAST(:tsq AS tsquery) AND tenant_id = :tenant AND vector_store_id = :vs
), store AS MATERIALIZED (
  SELECT greatest(chunk_count, 1)::float8 AS n, greatest(token_count::float8 / greatest(chunk_count, 1), 1) AS avgdl
  FROM vector_stores WHERE tenant_id = :tenant AND id = :vs
), lex AS (
  SELECT c.id, l.lexeme, coalesce(array_length(l.positions, 1), 1) AS tf
  FROM cand c CROSS JOIN LATERAL unnest(c.tsv) AS l WHERE l.lexeme = ANY(:terms)
), df AS (
  SELECT lexeme, count(*)::float8 AS df FROM lex GROUP BY lexeme
)
SELECT c.id, c.file_id, c.text,
       sum(ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5))
           * x.tf * {K1 + 1} / (x.tf + {K1} * (1 - {B} + {B} * c.token_count / s.avgdl))) AS score
FROM lex x JOIN df d USING (lexeme) JOIN cand c ON c.id = x.id CROSS JOIN store s
WHERE c.file_id IN :files
GROUP BY c.id, c.file_id, c.text
ORDER BY score DESC, c.id
LIMIT :k
"""


def fts5_query(query: str) -> str:
    """Any-term match; every token quoted so FTS5 operators in user input are plain words."""
    return " OR ".join(f'"{t}"' for t in TOKEN.findall(query.lower()))


async def bm25(
    session: AsyncSession,
    dialect: str,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    file_ids: list[uuid.UUID],
    query: str,
    k: int,
) -> list[Hit]:
    if not file_ids or not TOKEN.search(query):
        return []
    params: dict = {"tenant": tenant_id, "vs": store_id, "files": file_ids, "k": k}
    if dialect == "postgresql":
        terms = list(await session.scalar(text(PG_TERMS), {"q": query}) or [])
        if not terms:
            return []
        sql = POSTGRES
        params |= {
            "terms": terms,
            "tsq": " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms),
        }
    else:
        sql = SQLITE
        params["q"] = fts5_query(query)
    stmt = text(sql).bindparams(
        bindparam("tenant", type_=Uuid()),
        bindparam("vs", type_=Uuid()),
        bindparam("files", expanding=True, type_=Uuid()),
    )
    rows = await session.execute(stmt, params)
    out = []
    for chunk_id, file_id, body, score in rows:
        fid = file_id if isinstance(file_id, uuid.UUID) else uuid.UUID(str(file_id))
        s = max(float(score or 0.0), 0.0)
        out.append(Hit(int(chunk_id), fid, body, round(s / (1.0 + s), 6)))
    return out


def by_embedding(query: Iterable[float], rows: Iterable[tuple], k: int) -> list[Hit]:
    """Top `k` of (chunk id, file id, text, packed unit vector) rows by cosine similarity."""
    from agentdeck.providers.embeddings import unpack

    q = list(query)
    scored = ((sum(map(mul, q, unpack(blob))), cid, fid, body) for cid, fid, body, blob in rows)
    best = heapq.nlargest(k, scored, key=lambda t: (t[0], -t[1]))
    return [Hit(int(cid), fid, body, round(max(score, 0.0), 6)) for score, cid, fid, body in best]
