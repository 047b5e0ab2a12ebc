"""Vector stores, their files and search (NOTES §8.2), offline by default.

Files are attached from stored objects (`files/upload {object_id}`) or by file id (`files
{file_id}`: a file's id is `file-<object id hex>`, or the stored object's UUID). Ingestion
extracts text, chunks it and indexes the chunks in the database's full-text index; the file's
status moves `in_progress` → `completed` | `failed` (with `last_error`). Search ranks chunks
with BM25 (`domain/files/ranking.py`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from agentdeck.context import Context, Services
from agentdeck.db.base import utcnow
from agentdeck.db.models import (
    AgentVectorStore,
    StorageObject,
    Tenant,
    VectorChunk,
    VectorStore,
    VectorStoreFile,
)
from agentdeck.db.session import lock_row
from agentdeck.domain.catalog import SPECS
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.filters import matches, validate_filters
from agentdeck.domain.common.limits import Limit, check
from agentdeck.domain.common.results import Page
from agentdeck.domain.files import ingest, ranking
from agentdeck.domain.files.containers import check_agent_key
from agentdeck.domain.files.storage import Refused, caller_user_id, get_object
from agentdeck.errors import Conflict, Forbidden, InvalidInput, NotFound, UpstreamFailed
from agentdeck.providers.embeddings import OpenAIEmbeddings, unpack

log = logging.getLogger("agentdeck.vector_stores")
FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")
# A store's status, as OpenAI's vector stores have it; stores here are `completed` (ready) at once.
STORE_STATUSES = ("expired", "in_progress", "completed")
MAX_ATTRIBUTES = 16
DEFAULT_RESULTS = 10
MAX_NUM_RESULTS = Limit(ge=1, le=50)  # declared on VectorStoreSearchInput.max_num_results
# Declared on VectorStoreCreateInput.name and checked by `create_store` (the CLI creates stores too).
NAME = Limit(min_length=1, max_length=128)
ANALYZE_AFTER = 1000  # chunks inserted at once (PostgreSQL)


@dataclass
class ChunkMatch:
    """A ranked chunk and the file it was cut from."""

    file: VectorStoreFile
    chunk: ranking.Hit


@dataclass
class SearchPage:
    """What a search found: the query as ranked (`search_query`) and its matches, best first."""

    search_query: str
    data: list[ChunkMatch]


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details=[{"field": field, "message": message}])


def file_id_for(object_id: uuid.UUID) -> str:
    return f"file-{object_id.hex}"


# Stores ---------------------------------------------------------------------------------------


async def create_store(
    ctx: Context, name: str, description: str | None, expires_after: Any, metadata: Any
) -> VectorStore:
    tc = await require_role(ctx, "admin")
    check(NAME.problems(name, "input.name"))
    name = name.strip()
    if description is not None and len(description) > 2048:
        raise _invalid("input.description", "Description must be at most 2048 characters.")
    if metadata is not None and not isinstance(metadata, dict):
        raise _invalid("input.metadata", "Input should be a valid dictionary")
    expires_at = _expiry(expires_after)
    async with ctx.session() as s:
        await lock_row(s, Tenant, tc.tenant_id)  # concurrent creators count one after the other
        count = await s.scalar(select(func.count()).select_from(VectorStore))
        if (count or 0) >= ctx.settings.vector_store_max_per_tenant:
            raise Forbidden("Vector store quota exceeded for this tenant.")
        if await s.scalar(select(VectorStore.id).where(VectorStore.name == name)):
            raise Conflict(f"A vector store named '{name}' already exists.")
        store_id = uuid.uuid4()
        row = VectorStore(
            id=store_id,
            openai_id=f"vs_{store_id.hex}",
            owner_user_id=caller_user_id(ctx),
            name=name,
            description=description,
            status="completed",
            usage_bytes=0,
            chunk_count=0,
            token_count=0,
            expires_after=expires_after,
            expires_at=expires_at,
            last_active_at=utcnow(),
            meta=metadata or {},
        )
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:
            raise Conflict(f"A vector store named '{name}' already exists.") from None
    return row


def _expiry(expires_after: Any) -> datetime | None:
    if expires_after is None:
        return None
    if (
        not isinstance(expires_after, dict)
        or expires_after.get("anchor") != "last_active_at"
        or not isinstance(expires_after.get("days"), int)
        or not 1 <= expires_after["days"] <= 365
    ):
        raise _invalid("input.expires_after", 'expires_after must be {"anchor": "last_active_at", "days": 1-365}.')
    return utcnow() + timedelta(days=expires_after["days"])


async def list_stores(ctx: Context, limit: int, offset: int) -> Page[VectorStore]:
    await require_role(ctx, "viewer")
    async with ctx.session() as s:
        total = await s.scalar(select(func.count()).select_from(VectorStore))
        rows = (
            await s.scalars(
                select(VectorStore).order_by(VectorStore.created_at.desc(), VectorStore.id).limit(limit).offset(offset)
            )
        ).all()
    return Page(list(rows), total or 0)


async def get_store(ctx: Context, store_id: uuid.UUID, minimum: str = "viewer") -> VectorStore:
    await require_role(ctx, minimum)
    async with ctx.session() as s:
        row = await s.get(VectorStore, store_id)
    if row is None:
        raise NotFound("Vector store not found")
    return row


async def stores_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[VectorStore | None]:
    """The tenant's stores with these ids, in order, in one read; None where there is none."""
    await require_role(ctx, "viewer")
    if not ids:
        return []
    async with ctx.session() as s:
        rows = (await s.scalars(select(VectorStore).where(VectorStore.id.in_(set(ids))))).all()
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]


async def store_named(ctx: Context, name: str) -> VectorStore | None:
    await require_role(ctx, "viewer")
    async with ctx.session() as s:
        return await s.scalar(select(VectorStore).where(VectorStore.name == name.strip()))


async def delete_store(ctx: Context, store_id: uuid.UUID) -> bool:
    await get_store(ctx, store_id, "admin")
    async with ctx.session() as s:
        row = await s.get(VectorStore, store_id)
        if row is not None:
            await s.delete(row)  # files and chunks go by ON DELETE CASCADE
            await s.commit()
    return True


# Files ----------------------------------------------------------------------------------------


def _validate_attach(attributes: Any, chunking_strategy: Any) -> None:
    if attributes is not None:
        ok = (
            isinstance(attributes, dict)
            and len(attributes) <= MAX_ATTRIBUTES
            and all(
                isinstance(k, str)
                and len(k) <= 64
                and (isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 512))
                for k, v in attributes.items()
            )
        )
        if not ok:
            raise _invalid(
                "input.attributes",
                f"At most {MAX_ATTRIBUTES} attributes; keys up to 64 characters; "
                "values strings (up to 512), numbers or booleans.",
            )
    try:
        ingest.parse_chunking(chunking_strategy)
    except ValueError as exc:
        raise _invalid("input.chunking_strategy", str(exc)) from None


async def attach_file(
    ctx: Context, store_id: uuid.UUID, file_id: str, attributes: Any, chunking_strategy: Any, poll: bool
) -> VectorStoreFile:
    """Attach by file id: `file-<object hex>` or the stored object's UUID."""
    await require_role(ctx, "admin")
    if not file_id.strip():
        raise _invalid("input.file_id", "String should have at least 1 character")
    raw = file_id.removeprefix("file-")
    try:
        object_id = uuid.UUID(raw)
    except ValueError:
        raise NotFound("File not found") from None
    try:
        obj = await get_object(ctx, object_id)
    except NotFound:
        raise NotFound("File not found") from None
    return await attach_object(ctx, store_id, obj, attributes, chunking_strategy, poll)


async def upload_file(
    ctx: Context,
    store_id: uuid.UUID,
    object_id: uuid.UUID,
    agent_key: str | None,
    attributes: Any,
    chunking_strategy: Any,
    poll: bool,
) -> VectorStoreFile:
    await require_role(ctx, "admin")
    if agent_key is not None and not agent_key.strip():
        raise _invalid("input.agent_key", "String should have at least 1 character")
    if agent_key is not None:
        spec = SPECS.get(agent_key)
        if spec is None:
            raise NotFound(f"Agent '{agent_key}' not found")
        if "file_search" not in spec.tools:
            raise Forbidden(f"Agent '{agent_key}' does not use file search.")
    obj = await get_object(ctx, object_id)
    return await attach_object(ctx, store_id, obj, attributes, chunking_strategy, poll)


async def attach_object(
    ctx: Context, store_id: uuid.UUID, obj: StorageObject, attributes: Any, chunking_strategy: Any, poll: bool
) -> VectorStoreFile:
    await get_store(ctx, store_id, "admin")
    _validate_attach(attributes, chunking_strategy)
    if obj.status != "available":
        raise Refused("Object has not been uploaded yet.", "input.object_id")
    async with ctx.session() as s:
        await lock_row(s, VectorStore, store_id)  # concurrent attachers count one after the other
        count = await s.scalar(
            select(func.count()).select_from(VectorStoreFile).where(VectorStoreFile.vector_store_id == store_id)
        )
        if (count or 0) >= ctx.settings.vector_store_max_files_per_store:
            raise Forbidden("Vector store file quota exceeded.")
        row = VectorStoreFile(
            vector_store_id=store_id,
            openai_file_id=file_id_for(obj.id),
            object_id=obj.id,
            filename=obj.filename,
            mime_type=obj.mime_type,
            size_bytes=obj.size_bytes,
            usage_bytes=0,
            status="in_progress",
            attributes=attributes or {},
            chunking_strategy=chunking_strategy or {"type": "auto"},
        )
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:
            raise Conflict("File is already attached to this vector store.") from None
    job = ingest_file(ctx.services, row.tenant_id, row.id)
    if poll:
        await job
    else:
        ctx.services.spawn(job)  # owned by the process: finished or cancelled on shutdown
    async with ctx.session() as s:
        return await s.get(VectorStoreFile, row.id) or row


async def ingest_file(services: Services, tenant_id: uuid.UUID, file_row_id: uuid.UUID) -> None:
    """Extract, chunk and index one file; record the outcome on its row."""
    try:
        await _ingest(services, tenant_id, file_row_id)
    except asyncio.CancelledError:
        # Shutdown (or a cancelled request): never leave the file `in_progress` forever.
        await _finish(
            services, tenant_id, file_row_id, "failed", 0, "Ingestion was interrupted; attach the file again."
        )
        raise


async def _ingest(services: Services, tenant_id: uuid.UUID, file_row_id: uuid.UUID) -> None:
    async with services.db.session(tenant_id) as s:
        row = await s.get(VectorStoreFile, file_row_id)
        obj = await s.get(StorageObject, row.object_id) if row and row.object_id else None
    if row is None:
        return
    try:
        if obj is None:
            raise ingest.ExtractionError("The stored object no longer exists.")
        data = await services.storage.read(obj.bucket, obj.object_key)
        chunking = ingest.parse_chunking(row.chunking_strategy)
        body, chunks = await asyncio.to_thread(ingest.extract_and_chunk, data, row.mime_type, row.filename, chunking)
        vectors = await _embed(services, [c.text for c in chunks])
    except Exception as exc:  # noqa: BLE001 - any failure is the file's `last_error`
        if not isinstance(exc, ingest.ExtractionError):
            log.warning("ingestion of %s failed", file_row_id, exc_info=exc)
        await _finish(services, tenant_id, file_row_id, "failed", 0, str(exc) or type(exc).__name__)
        return
    async with services.db.session(tenant_id) as s:
        values = [
            {
                "tenant_id": tenant_id,
                "vector_store_id": row.vector_store_id,
                "file_id": row.id,
                "chunk_index": c.index,
                "token_count": c.tokens,
                "text": c.text,
                "embedding": v,
            }
            for c, v in zip(chunks, vectors, strict=True)
        ]
        for start in range(0, len(values), 1000):
            await s.execute(insert(VectorChunk), values[start : start + 1000])
        await s.commit()
        if s.get_bind().dialect.name == "postgresql" and len(values) >= ANALYZE_AFTER:
            # Fresh statistics, so that the planner picks the GIN index for the new store.
            await s.execute(text("ANALYZE vector_chunks"))
            await s.commit()
    await _finish(
        services,
        tenant_id,
        file_row_id,
        "completed",
        len(body.encode()),
        None,
        len(chunks),
        sum(c.tokens for c in chunks),
    )


async def _embed(services: Services, texts: list[str]) -> list[bytes | None]:
    if services.embeddings is None:
        return [None] * len(texts)
    try:
        return list(await services.embeddings.embed(texts))
    except Exception as exc:  # noqa: BLE001 - reported as the file's last_error
        raise ingest.ExtractionError(f"Embedding failed: {type(exc).__name__}: {exc}") from exc


async def _finish(
    services: Services,
    tenant_id: uuid.UUID,
    file_row_id: uuid.UUID,
    status: str,
    usage: int,
    error: str | None,
    chunks: int = 0,
    tokens: int = 0,
) -> None:
    async with services.db.session(tenant_id) as s:
        row = await s.get(VectorStoreFile, file_row_id)
        if row is None:  # deleted while ingesting
            return
        row.status, row.usage_bytes, row.last_error = status, usage, error
        await s.execute(
            update(VectorStore)
            .where(VectorStore.id == row.vector_store_id)
            .values(
                usage_bytes=VectorStore.usage_bytes + usage,
                chunk_count=VectorStore.chunk_count + chunks,
                token_count=VectorStore.token_count + tokens,
                last_active_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        await s.commit()


async def list_files(
    ctx: Context, store_id: uuid.UUID, status: str | None, limit: int, offset: int
) -> Page[VectorStoreFile]:
    await get_store(ctx, store_id)
    return await file_page(ctx, store_id, status, offset, limit)


async def file_page(
    ctx: Context, store_id: uuid.UUID, status: str | None, offset: int, limit: int
) -> Page[VectorStoreFile]:
    """One page of a store's files, newest first, for a store the caller has read already (the
    files of each store in a list cost no second read of the store)."""
    await require_role(ctx, "viewer")
    if status is not None and status not in FILE_STATUSES:
        raise _invalid("status", f"Status must be one of {', '.join(FILE_STATUSES)}.")
    query = select(VectorStoreFile).where(VectorStoreFile.vector_store_id == store_id)
    if status is not None:
        query = query.where(VectorStoreFile.status == status)
    async with ctx.session() as s:
        total = await s.scalar(select(func.count()).select_from(query.subquery()))
        rows = (
            await s.scalars(
                query.order_by(VectorStoreFile.created_at.desc(), VectorStoreFile.id).limit(limit).offset(offset)
            )
        ).all()
    return Page(list(rows), total or 0)


async def files_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[VectorStoreFile | None]:
    """The tenant's store files with these row ids, in order, in one read; None where there is none."""
    await require_role(ctx, "viewer")
    if not ids:
        return []
    async with ctx.session() as s:
        rows = (await s.scalars(select(VectorStoreFile).where(VectorStoreFile.id.in_(set(ids))))).all()
    found = {r.id: r for r in rows}
    return [found.get(i) for i in ids]


async def file_counts(ctx: Context, store_ids: Sequence[uuid.UUID]) -> list[dict[str, int]]:
    """How many files each store has in each status (every status of FILE_STATUSES, 0 when
    none), in order, in one read."""
    await require_role(ctx, "viewer")
    counts: dict[uuid.UUID, dict[str, int]] = {i: dict.fromkeys(FILE_STATUSES, 0) for i in store_ids}
    if not store_ids:
        return []
    async with ctx.session() as s:
        rows = (
            await s.execute(
                select(VectorStoreFile.vector_store_id, VectorStoreFile.status, func.count())
                .where(VectorStoreFile.vector_store_id.in_(set(store_ids)))
                .group_by(VectorStoreFile.vector_store_id, VectorStoreFile.status)
            )
        ).all()
    for store_id, status, n in rows:
        if status in counts[store_id]:
            counts[store_id][status] = n
    return [counts[i] for i in store_ids]


async def get_file(ctx: Context, store_id: uuid.UUID, file_id: str, minimum: str = "viewer") -> VectorStoreFile:
    await get_store(ctx, store_id, minimum)
    async with ctx.session() as s:
        row = await s.scalar(
            select(VectorStoreFile).where(
                VectorStoreFile.vector_store_id == store_id, VectorStoreFile.openai_file_id == file_id
            )
        )
    if row is None:
        raise NotFound("Vector store file not found")
    return row


async def delete_file(ctx: Context, store_id: uuid.UUID, file_id: str) -> bool:
    row = await get_file(ctx, store_id, file_id, "admin")
    async with ctx.session() as s:
        count, tokens = (
            await s.execute(
                select(func.count(), func.coalesce(func.sum(VectorChunk.token_count), 0)).where(
                    VectorChunk.file_id == row.id
                )
            )
        ).one()
        # Conditional delete, then the store's totals changed in SQL: of concurrent deletes only
        # one subtracts, and ingestions adding to the same totals meanwhile are not lost.
        gone = await s.execute(
            delete(VectorStoreFile).where(VectorStoreFile.id == row.id).returning(VectorStoreFile.usage_bytes)
        )
        usage = gone.scalar_one_or_none()
        if usage is not None:
            await s.execute(
                update(VectorStore)
                .where(VectorStore.id == store_id)
                .values(
                    usage_bytes=_minus(VectorStore.usage_bytes, usage),
                    chunk_count=_minus(VectorStore.chunk_count, count),
                    token_count=_minus(VectorStore.token_count, tokens),
                )
                .execution_options(synchronize_session=False)
            )
        await s.commit()
    return True


def _minus(column: Any, amount: int) -> Any:
    """`column - amount`, never below 0, computed by the database."""
    return case((column > amount, column - amount), else_=0)


# Search ---------------------------------------------------------------------------------------


def _query_text(query: Any) -> str:
    if isinstance(query, str) and query.strip():
        return query.strip()
    if isinstance(query, list) and query and len(query) <= 10 and all(isinstance(q, str) and q.strip() for q in query):
        return " ".join(q.strip() for q in query)
    raise _invalid("input.query", "query must be a non-empty string or a list of 1-10 non-empty strings.")


async def search(
    ctx: Context, store_id: uuid.UUID, query: Any, filters: Any, max_num_results: int | None, ranking_options: Any
) -> SearchPage:
    tc = await require_role(ctx, "viewer")
    query_text = _query_text(query)
    k = DEFAULT_RESULTS if max_num_results is None else max_num_results  # bounds: MAX_NUM_RESULTS
    problem = validate_filters(filters)
    if problem:
        raise _invalid("input.filters", problem)
    threshold = _threshold(ranking_options)
    await get_store(ctx, store_id)
    async with ctx.session() as s:
        files = (
            await s.scalars(
                select(VectorStoreFile).where(
                    VectorStoreFile.vector_store_id == store_id, VectorStoreFile.status == "completed"
                )
            )
        ).all()
        by_id = {f.id: f for f in files if filters is None or matches(filters, f.attributes)}
        if ctx.services.embeddings is not None:
            hits = await _semantic(ctx.services.embeddings, s, store_id, list(by_id), query_text, k)
        else:
            hits = await ranking.bm25(s, s.get_bind().dialect.name, tc.tenant_id, store_id, list(by_id), query_text, k)
        await s.execute(update(VectorStore).where(VectorStore.id == store_id).values(last_active_at=utcnow()))
        await s.commit()
    return SearchPage(query_text, [ChunkMatch(by_id[h.file_id], h) for h in hits if h.score >= threshold])


async def _semantic(
    embeddings: OpenAIEmbeddings, s: Any, store_id: uuid.UUID, file_ids: list[uuid.UUID], query: str, k: int
) -> list[ranking.Hit]:
    try:
        (vector,) = await embeddings.embed([query])
    except Exception as exc:  # noqa: BLE001
        raise UpstreamFailed(f"Embedding the query failed: {type(exc).__name__}") from exc
    if not file_ids:
        return []
    rows = (
        await s.execute(
            select(VectorChunk.id, VectorChunk.file_id, VectorChunk.text, VectorChunk.embedding).where(
                VectorChunk.vector_store_id == store_id,
                VectorChunk.file_id.in_(file_ids),
                VectorChunk.embedding.is_not(None),
            )
        )
    ).all()
    return await asyncio.to_thread(ranking.by_embedding, unpack(vector), rows, k)


def _threshold(options: Any) -> float:
    if options is None:
        return 0.0
    value = options.get("score_threshold", 0.0) if isinstance(options, dict) else None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise _invalid("input.ranking_options", "ranking_options.score_threshold must be a number 0-1.")
    return float(value)


# Agent bindings: the stores an agent's file-search tool searches -------------------------------


def _check_searching_agent(agent_key: str) -> None:
    check_agent_key(agent_key)
    if "file_search" not in SPECS[agent_key].tools:
        raise _invalid("agentKey", f"Agent '{agent_key}' does not use file search, so it cannot search a store.")


async def bind_agent(ctx: Context, store_id: uuid.UUID, agent_key: str) -> VectorStore:
    """The agent searches this store from now on. Binding a bound pair again changes nothing."""
    store = await get_store(ctx, store_id, "admin")
    _check_searching_agent(agent_key)
    async with ctx.session() as s:
        bound = await s.scalar(
            select(AgentVectorStore.id).where(
                AgentVectorStore.agent_key == agent_key, AgentVectorStore.vector_store_id == store_id
            )
        )
        if bound is None:
            s.add(AgentVectorStore(agent_key=agent_key, vector_store_id=store_id))
            try:
                await s.commit()
            except IntegrityError:  # bound concurrently (fine), or the store went meanwhile
                await s.rollback()
                if await s.get(VectorStore, store_id) is None:
                    raise NotFound("Vector store not found") from None
    return store


async def unbind_agent(ctx: Context, store_id: uuid.UUID, agent_key: str) -> VectorStore:
    """The agent no longer searches this store. Idempotent: unbinding a pair that is not bound
    succeeds (the store and the agent must exist)."""
    store = await get_store(ctx, store_id, "admin")
    check_agent_key(agent_key)
    async with ctx.session() as s:
        await s.execute(
            delete(AgentVectorStore).where(
                AgentVectorStore.agent_key == agent_key, AgentVectorStore.vector_store_id == store_id
            )
        )
        await s.commit()
    return store


async def agent_keys_by_store(ctx: Context, store_ids: Sequence[uuid.UUID]) -> list[list[str]]:
    """The keys of the agents bound to each store (sorted), in order, in one read."""
    await require_role(ctx, "viewer")
    found: dict[uuid.UUID, list[str]] = {i: [] for i in store_ids}
    if not store_ids:
        return []
    async with ctx.session() as s:
        rows = (
            await s.execute(
                select(AgentVectorStore.vector_store_id, AgentVectorStore.agent_key)
                .where(AgentVectorStore.vector_store_id.in_(set(store_ids)))
                .order_by(AgentVectorStore.agent_key)
            )
        ).all()
    for store_id, agent_key in rows:
        found[store_id].append(agent_key)
    return [found[i] for i in store_ids]


async def stores_by_agent(ctx: Context, agent_keys: Sequence[str]) -> list[list[VectorStore]]:
    """The stores bound to each agent (by name), in order, in one read."""
    await require_role(ctx, "viewer")
    found: dict[str, list[VectorStore]] = {k: [] for k in agent_keys}
    if not agent_keys:
        return []
    async with ctx.session() as s:
        rows = (
            await s.execute(
                select(AgentVectorStore.agent_key, VectorStore)
                .join(VectorStore, VectorStore.id == AgentVectorStore.vector_store_id)
                .where(AgentVectorStore.agent_key.in_(set(agent_keys)))
                .order_by(VectorStore.name, VectorStore.id)
            )
        ).all()
    for agent_key, store in rows:
        found[agent_key].append(store)
    return [found[k] for k in agent_keys]


async def search_for_agent(ctx: Context, agent_key: str, query: str, max_num_results: int | None) -> SearchPage:
    """What the agent's file-search tool finds: every store bound to the agent searched, the
    matches merged best first (at most `max_num_results`, 10 by default). No bound store finds
    nothing."""
    k = DEFAULT_RESULTS if max_num_results is None else max_num_results
    (stores,) = await stores_by_agent(ctx, [agent_key])
    query_text = _query_text(query)
    matches: list[ChunkMatch] = []
    for store in stores:
        matches.extend((await search(ctx, store.id, query_text, None, k, None)).data)
    matches.sort(key=lambda m: m.chunk.score, reverse=True)
    return SearchPage(query_text, matches[:k])
