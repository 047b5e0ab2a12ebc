"""Vector stores: the native graph (`VectorStore` and `VectorStoreFile` nodes, the
`vectorStores` connection, `searchVectorStore` as a query, mutations with payloads) and, for the
REST layer, the legacy fields (`RestQuery`, `RestMutation`), over the same domain functions
(`domain/files/vector_stores.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db import models as db
from agentdeck.domain.common.results import Page
from agentdeck.domain.files import storage as objects
from agentdeck.domain.files import vector_stores as r
from agentdeck.domain.files.downloads import download_url
from agentdeck.errors import NotFound
from agentdeck.schema import graph
from agentdeck.schema.limits import Offset, PageSize, limited
from agentdeck.schema.permissions import TenantRole, allow
from agentdeck.schema.storage import StorageObjectNode, acted, by_ids, decode_id


# Named as the legacy contract names it: `VectorStore` is the native node, which the REST face
# also reaches (through `Agent.vectorStores`).
@strawberry.type(
    name="VectorStoreResponse", description="A tenant's vector store (searchable text from attached files)."
)
class VectorStore:
    id: uuid.UUID
    openai_id: str
    tenant_id: uuid.UUID
    owner_user_id: uuid.UUID | None
    name: str
    description: str | None
    status: str
    usage_bytes: int
    expires_after: JSON | None
    expires_at: datetime | None
    last_active_at: datetime | None
    metadata: JSON
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: db.VectorStore) -> VectorStore:
        return cls(
            id=row.id,
            openai_id=row.openai_id,
            tenant_id=row.tenant_id,
            owner_user_id=row.owner_user_id,
            name=row.name,
            description=row.description,
            status=row.status,
            usage_bytes=row.usage_bytes,
            expires_after=JSON(row.expires_after),
            expires_at=row.expires_at,
            last_active_at=row.last_active_at,
            metadata=JSON(row.meta),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(
    name="VectorStoreFileResponse",
    description="A file in a vector store; `status` is in_progress, completed or failed.",
)
class VectorStoreFile:
    id: uuid.UUID
    openai_file_id: str
    vector_store_id: uuid.UUID
    filename: str
    mime_type: str | None
    size_bytes: int | None
    usage_bytes: int
    status: str
    attributes: JSON
    chunking_strategy: JSON | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: db.VectorStoreFile) -> VectorStoreFile:
        return cls(
            id=row.id,
            openai_file_id=row.openai_file_id,
            vector_store_id=row.vector_store_id,
            filename=row.filename,
            mime_type=row.mime_type,
            size_bytes=row.size_bytes,
            usage_bytes=row.usage_bytes,
            status=row.status,
            attributes=JSON(row.attributes),
            chunking_strategy=JSON(row.chunking_strategy),
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class VectorStoreList:
    items: list[VectorStore]
    total: int

    @classmethod
    def from_page(cls, page: Page[db.VectorStore]) -> VectorStoreList:
        return cls(items=[VectorStore.from_row(x) for x in page.items], total=page.total)


@strawberry.type
class VectorStoreFileList:
    items: list[VectorStoreFile]
    total: int

    @classmethod
    def from_page(cls, page: Page[db.VectorStoreFile]) -> VectorStoreFileList:
        return cls(items=[VectorStoreFile.from_row(x) for x in page.items], total=page.total)


@strawberry.type
class VectorStoreSearchContent:
    type: str
    text: str


@strawberry.type
class VectorStoreSearchResult:
    file_id: str
    filename: str
    score: float
    attributes: JSON
    content: list[VectorStoreSearchContent]

    @classmethod
    def from_match(cls, match: r.ChunkMatch) -> VectorStoreSearchResult:
        return cls(
            file_id=match.file.openai_file_id,
            filename=match.file.filename,
            score=match.chunk.score,
            attributes=JSON(match.file.attributes),
            content=[VectorStoreSearchContent(type="text", text=match.chunk.text)],
        )


@strawberry.type(description="Ranked chunks: BM25 over the database's full-text index.")
class VectorStoreSearchPage:
    object: str
    search_query: str
    data: list[VectorStoreSearchResult]
    has_more: bool
    next_page: str | None

    @classmethod
    def from_page(cls, page: r.SearchPage) -> VectorStoreSearchPage:
        # The OpenAI-compatible page shape; every match is on the one page.
        return cls(
            object="vector_store.search_results.page",
            search_query=page.search_query,
            data=[VectorStoreSearchResult.from_match(m) for m in page.data],
            has_more=False,
            next_page=None,
        )


@strawberry.input
class VectorStoreCreateInput:
    name: str = strawberry.field(metadata=limited(r.NAME))
    description: str | None = None
    expires_after: JSON | None = None
    metadata: JSON | None = None


@strawberry.input
class VectorStoreFileCreateInput:
    file_id: str
    attributes: JSON | None = None
    chunking_strategy: JSON | None = None
    poll: bool = True


@strawberry.input
class VectorStoreFileUploadInput:
    object_id: uuid.UUID
    agent_key: str | None = None
    attributes: JSON | None = None
    chunking_strategy: JSON | None = None
    poll: bool = True


@strawberry.input
class VectorStoreSearchInput:
    query: JSON = strawberry.field(description="A string or a list of strings.")
    filters: JSON | None = None
    max_num_results: int | None = strawberry.field(default=None, metadata=limited(r.MAX_NUM_RESULTS))
    ranking_options: JSON | None = None


VIEW, WRITE = allow(TenantRole("viewer")), allow(TenantRole("admin"))


@strawberry.type
class RestQuery:
    @strawberry.field(extensions=VIEW)
    async def vector_stores(self, info: strawberry.Info, limit: PageSize = 20, offset: Offset = 0) -> VectorStoreList:
        return VectorStoreList.from_page(await r.list_stores(info.context, limit, offset))

    @strawberry.field(extensions=VIEW)
    async def vector_store(self, info: strawberry.Info, vector_store_id: uuid.UUID) -> VectorStore:
        return VectorStore.from_row(await r.get_store(info.context, vector_store_id))

    @strawberry.field(extensions=VIEW)
    async def vector_store_files(
        self,
        info: strawberry.Info,
        vector_store_id: uuid.UUID,
        status: str | None = None,
        limit: PageSize = 20,
        offset: Offset = 0,
    ) -> VectorStoreFileList:
        return VectorStoreFileList.from_page(await r.list_files(info.context, vector_store_id, status, limit, offset))

    @strawberry.field(extensions=VIEW, description="A file by its file id (`file-...`).")
    async def vector_store_file(
        self, info: strawberry.Info, vector_store_id: uuid.UUID, file_id: str
    ) -> VectorStoreFile:
        return VectorStoreFile.from_row(await r.get_file(info.context, vector_store_id, file_id))


@strawberry.type
class RestMutation:
    @strawberry.mutation(extensions=WRITE)
    async def create_vector_store(self, info: strawberry.Info, input: VectorStoreCreateInput) -> VectorStore:
        return VectorStore.from_row(
            await r.create_store(info.context, input.name, input.description, input.expires_after, input.metadata)
        )

    @strawberry.mutation(extensions=WRITE)
    async def delete_vector_store(self, info: strawberry.Info, vector_store_id: uuid.UUID) -> bool:
        return await r.delete_store(info.context, vector_store_id)

    @strawberry.mutation(extensions=WRITE, description="Attach a file by id and ingest it (`poll`: wait).")
    async def attach_vector_store_file(
        self, info: strawberry.Info, vector_store_id: uuid.UUID, input: VectorStoreFileCreateInput
    ) -> VectorStoreFile:
        return VectorStoreFile.from_row(
            await r.attach_file(
                info.context, vector_store_id, input.file_id, input.attributes, input.chunking_strategy, input.poll
            )
        )

    @strawberry.mutation(extensions=WRITE, description="Attach a stored object and ingest it (`poll`: wait).")
    async def upload_vector_store_file(
        self, info: strawberry.Info, vector_store_id: uuid.UUID, input: VectorStoreFileUploadInput
    ) -> VectorStoreFile:
        return VectorStoreFile.from_row(
            await r.upload_file(
                info.context,
                vector_store_id,
                input.object_id,
                input.agent_key,
                input.attributes,
                input.chunking_strategy,
                input.poll,
            )
        )

    @strawberry.mutation(extensions=WRITE)
    async def delete_vector_store_file(self, info: strawberry.Info, vector_store_id: uuid.UUID, file_id: str) -> bool:
        return await r.delete_file(info.context, vector_store_id, file_id)

    @strawberry.mutation(extensions=WRITE, description="Let an agent's file search search this store (idempotent).")
    async def bind_vector_store_agent(self, info: strawberry.Info, vector_store_id: uuid.UUID, agent_key: str) -> bool:
        await r.bind_agent(info.context, vector_store_id, agent_key)
        return True

    @strawberry.mutation(extensions=WRITE, description="Stop an agent's file search searching this store (idempotent).")
    async def unbind_vector_store_agent(
        self, info: strawberry.Info, vector_store_id: uuid.UUID, agent_key: str
    ) -> bool:
        await r.unbind_agent(info.context, vector_store_id, agent_key)
        return True

    @strawberry.mutation(extensions=VIEW, description="Search a vector store (a mutation: POST, no caching).")
    async def search_vector_store(
        self, info: strawberry.Info, vector_store_id: uuid.UUID, input: VectorStoreSearchInput
    ) -> VectorStoreSearchPage:
        page = await r.search(
            info.context, vector_store_id, input.query, input.filters, input.max_num_results, input.ranking_options
        )
        return VectorStoreSearchPage.from_page(page)


# -- the native graph ------------------------------------------------------------------------

STORE, FILE = "VectorStore", "VectorStoreFile"


@strawberry.enum(description="Whether a vector store can be searched.")
class VectorStoreStatus(Enum):
    EXPIRED = strawberry.enum_value("expired", description="Past its expiry: no longer searchable.")
    IN_PROGRESS = strawberry.enum_value("in_progress", description="Being prepared.")
    COMPLETED = strawberry.enum_value("completed", description="Ready to search.")


@strawberry.enum(description="Where a file's ingestion (extract, chunk, index) is.")
class VectorStoreFileStatus(Enum):
    IN_PROGRESS = strawberry.enum_value("in_progress", description="Being ingested.")
    COMPLETED = strawberry.enum_value("completed", description="Indexed: its chunks are searched.")
    FAILED = strawberry.enum_value("failed", description="Ingestion failed: `lastError` says why.")
    CANCELLED = strawberry.enum_value("cancelled", description="Ingestion was cancelled.")


@strawberry.enum(description="What a vector store's expiry counts from.")
class VectorStoreExpiryAnchor(Enum):
    LAST_ACTIVE_AT = strawberry.enum_value("last_active_at", description="When it was last searched or changed.")


@strawberry.type(description="When a vector store expires: `days` after its anchor.")
class VectorStoreExpiry:
    anchor: VectorStoreExpiryAnchor = strawberry.field(description="What the days count from.")
    days: int = strawberry.field(description="How many days after the anchor (1-365).")


@strawberry.type(description="How many of a store's files are in each status.")
class VectorStoreFileCounts:
    in_progress: int = strawberry.field(description="Files being ingested.")
    completed: int = strawberry.field(description="Files indexed.")
    failed: int = strawberry.field(description="Files whose ingestion failed.")
    cancelled: int = strawberry.field(description="Files whose ingestion was cancelled.")
    total: int = strawberry.field(description="All its files.")


@strawberry.enum(description="How a file is cut into chunks.")
class ChunkingStrategyType(Enum):
    AUTO = strawberry.enum_value("auto", description="Chunk sizes the server chooses.")
    STATIC = strawberry.enum_value("static", description="The sizes given.")


@strawberry.type(description="How a file is cut into chunks: `AUTO`, or `STATIC` with its sizes.")
class ChunkingStrategy:
    type: ChunkingStrategyType = strawberry.field(description="Automatic or static.")
    max_chunk_size_tokens: int | None = strawberry.field(description="A static chunk's size, in tokens.")
    chunk_overlap_tokens: int | None = strawberry.field(description="Tokens shared by neighbouring static chunks.")

    @classmethod
    def from_json(cls, value: Any) -> ChunkingStrategy:
        static = value.get("static") if isinstance(value, dict) else None
        if isinstance(static, dict):
            return cls(
                type=ChunkingStrategyType.STATIC,
                max_chunk_size_tokens=static.get("max_chunk_size_tokens"),
                chunk_overlap_tokens=static.get("chunk_overlap_tokens", 0),
            )
        return cls(type=ChunkingStrategyType.AUTO, max_chunk_size_tokens=None, chunk_overlap_tokens=None)


def _bound_agents_loader(info: strawberry.Info) -> Any:
    async def batch(ids: list[uuid.UUID]) -> list[list[str]]:
        return await r.agent_keys_by_store(info.context, ids)

    return graph.loader(info, "vector_stores.bound_agents", batch)


async def stores_of_agent(info: strawberry.Info, agent_key: str) -> graph.Connection[VectorStoreNode]:
    """`Agent.vectorStores`: the stores bound to the agent (one read for every agent of a response)."""

    async def batch(keys: list[str]) -> list[list[db.VectorStore]]:
        return await r.stores_by_agent(info.context, keys)

    rows = await graph.loader(info, "vector_stores.by_agent", batch).load(agent_key)
    return graph.connection_of([VectorStoreNode.from_row(row) for row in rows])


def _store_loader(info: strawberry.Info) -> Any:
    async def batch(ids: list[uuid.UUID]) -> list[db.VectorStore | None]:
        return await r.stores_by_ids(info.context, ids)

    return graph.loader(info, "vector_stores.by_id", batch)


@strawberry.input(description="Which files of a store to list.")
class VectorStoreFileFilter:
    status: VectorStoreFileStatus | None = strawberry.field(default=None, description="Only files in this status.")


@strawberry.type(name="VectorStore", description="A tenant's searchable collection of files (their text, chunked).")
class VectorStoreNode(graph.Node):
    key: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID = strawberry.field(description="The store's UUID (REST's `id`).")
    openai_id: str = strawberry.field(description="Its OpenAI-style id (`vs_...`).")
    name: str = strawberry.field(description="Unique within the tenant.")
    description: str | None = strawberry.field(description="What it holds, as its creator put it.")
    status: VectorStoreStatus = strawberry.field(description="Whether it can be searched.")
    usage_bytes: int = strawberry.field(description="Bytes of text extracted from its files.")
    chunk_count: int = strawberry.field(description="How many chunks its files were cut into.")
    expires_after: VectorStoreExpiry | None = strawberry.field(description="Its expiry policy, if any.")
    expires_at: datetime | None = strawberry.field(description="When it expires, if it does.")
    last_active_at: datetime | None = strawberry.field(description="When it was last searched or changed.")
    metadata: JSON = strawberry.field(description="The object it was created with.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it (or its totals) last changed.")

    @classmethod
    def from_row(cls, row: db.VectorStore) -> VectorStoreNode:
        expiry = row.expires_after if isinstance(row.expires_after, dict) else None
        return cls(
            key=row.id,
            database_id=row.id,
            openai_id=row.openai_id,
            name=row.name,
            description=row.description,
            status=VectorStoreStatus(row.status),
            usage_bytes=row.usage_bytes,
            chunk_count=row.chunk_count,
            expires_after=VectorStoreExpiry(anchor=VectorStoreExpiryAnchor(expiry["anchor"]), days=expiry["days"])
            if expiry
            else None,
            expires_at=row.expires_at,
            last_active_at=row.last_active_at,
            metadata=JSON(row.meta or {}),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[VectorStoreNode | None]:
        rows = await by_ids(lambda ids: r.stores_by_ids(info.context, ids), graph.uuids(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]

    @strawberry.field(description="How many of its files are in each status.")
    async def file_counts(self, info: strawberry.Info) -> VectorStoreFileCounts:
        async def batch(ids: list[uuid.UUID]) -> list[dict[str, int]]:
            return await r.file_counts(info.context, ids)

        load = graph.loader(info, "vector_stores.file_counts", batch)
        counts = await load.load(self.key)
        return VectorStoreFileCounts(**counts, total=sum(counts.values()))

    @strawberry.field(
        description="The keys of the agents whose file search searches this store, sorted (`agent(key:)` "
        "reads one; `Agent.vectorStores` is the other side)."
    )
    async def bound_agents(self, info: strawberry.Info) -> list[str]:
        keys: list[str] = await _bound_agents_loader(info).load(self.key)
        return keys

    @strawberry.field(description="Its files, newest first.")
    async def files(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: VectorStoreFileFilter | None = None,
    ) -> graph.Connection[VectorStoreFileNode]:
        status = cast(str, filter.status.value) if filter and filter.status else None
        return await graph.paginate(
            lambda offset, limit: r.file_page(info.context, self.key, status, offset, limit),
            VectorStoreFileNode.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type(name="VectorStoreFile", description="A stored object attached to a vector store, and its ingestion.")
class VectorStoreFileNode(graph.Node):
    key: relay.NodeID[uuid.UUID]
    store_id: strawberry.Private[uuid.UUID]
    object_id: strawberry.Private[uuid.UUID | None]
    database_id: uuid.UUID = strawberry.field(description="The attachment's UUID.")
    file_id: str = strawberry.field(description="The OpenAI-style file id (`file-...`) REST names it by.")
    filename: str = strawberry.field(description="The stored object's filename.")
    mime_type: str | None = strawberry.field(description="The stored object's media type.")
    size_bytes: int | None = strawberry.field(description="The stored object's size.")
    usage_bytes: int = strawberry.field(description="Bytes of text extracted from it.")
    status: VectorStoreFileStatus = strawberry.field(description="Where its ingestion is.")
    attributes: JSON = strawberry.field(description="Its attributes, which search filters match.")
    chunking_strategy: ChunkingStrategy = strawberry.field(description="How it is cut into chunks.")
    last_error: str | None = strawberry.field(description="Why ingestion failed, when it did.")
    created_at: datetime = strawberry.field(description="When it was attached.")
    updated_at: datetime = strawberry.field(description="When its ingestion last moved on.")

    @classmethod
    def from_row(cls, row: db.VectorStoreFile) -> VectorStoreFileNode:
        return cls(
            key=row.id,
            store_id=row.vector_store_id,
            object_id=row.object_id,
            database_id=row.id,
            file_id=row.openai_file_id,
            filename=row.filename,
            mime_type=row.mime_type,
            size_bytes=row.size_bytes,
            usage_bytes=row.usage_bytes,
            status=VectorStoreFileStatus(row.status),
            attributes=JSON(row.attributes or {}),
            chunking_strategy=ChunkingStrategy.from_json(row.chunking_strategy),
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[VectorStoreFileNode | None]:
        rows = await by_ids(lambda ids: r.files_by_ids(info.context, ids), graph.uuids(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]

    @strawberry.field(
        description="Where its bytes are downloaded (GET with the bearer token, streamed as an attachment): "
        "REST's `/api/v1/openai/files/{fileId}/download` on the server's public URL."
    )
    def download_url(self, info: strawberry.Info) -> str:
        return download_url(info.context.settings.public_url, self.file_id)

    @strawberry.field(description="The store it is attached to.")
    async def vector_store(self, info: strawberry.Info) -> VectorStoreNode:
        row = await _store_loader(info).load(self.store_id)
        if row is None:  # deleted since the file was read
            raise NotFound("Vector store not found")
        return VectorStoreNode.from_row(row)

    @strawberry.field(description="The stored object its text came from; null once that is deleted.")
    async def storage_object(self, info: strawberry.Info) -> StorageObjectNode | None:
        if self.object_id is None:
            return None

        async def batch(ids: list[uuid.UUID]) -> list[db.StorageObject | None]:
            return await objects.objects_by_ids(info.context, ids)

        load = graph.loader(info, "storage.by_id", batch)
        row = await load.load(self.object_id)
        return StorageObjectNode.from_row(row) if row is not None else None


@strawberry.type(description="A chunk of a file that matched a search, and its score.")
class VectorStoreChunkMatch:
    score: float = strawberry.field(description="Relevance, 0 to 1 (higher is better).")
    text: str = strawberry.field(description="The chunk's text.")
    file: VectorStoreFileNode = strawberry.field(description="The file the chunk was cut from.")

    @classmethod
    def from_match(cls, match: r.ChunkMatch) -> VectorStoreChunkMatch:
        return cls(score=match.chunk.score, text=match.chunk.text, file=VectorStoreFileNode.from_row(match.file))


@strawberry.enum(description="How an attribute filter compares a file's attribute with `value`.")
class FileAttributeOperator(Enum):
    EQ = strawberry.enum_value("eq", description="Equal to `value`.")
    NE = strawberry.enum_value("ne", description="Not equal to `value` (or absent).")
    GT = strawberry.enum_value("gt", description="Greater than `value`.")
    GTE = strawberry.enum_value("gte", description="Greater than or equal to `value`.")
    LT = strawberry.enum_value("lt", description="Less than `value`.")
    LTE = strawberry.enum_value("lte", description="Less than or equal to `value`.")
    IN = strawberry.enum_value("in", description="One of the list `value`.")
    NIN = strawberry.enum_value("nin", description="None of the list `value` (or absent).")


@strawberry.input(description="One comparison of a file attribute.")
class FileAttributeComparison:
    key: str = strawberry.field(description="The attribute's name.")
    operator: FileAttributeOperator = strawberry.field(description="How the attribute is compared.")
    value: JSON = strawberry.field(description="A string, number or boolean; a list of them for `IN`/`NIN`.")


@strawberry.input(one_of=True, description="A filter on file attributes: a comparison, or all/any of filters.")
class FileAttributeFilter:
    comparison: FileAttributeComparison | None = strawberry.field(
        default=strawberry.UNSET, description="One comparison."
    )
    all: list[FileAttributeFilter] | None = strawberry.field(
        default=strawberry.UNSET, description="Every one of these filters (1-50)."
    )
    any: list[FileAttributeFilter] | None = strawberry.field(
        default=strawberry.UNSET, description="At least one of these filters (1-50)."
    )

    def to_domain(self) -> dict[str, Any]:
        """The domain's (OpenAI's) filter document."""
        if self.comparison:
            c = self.comparison
            return {"type": c.operator.value, "key": c.key, "value": c.value}
        kind, items = ("and", self.all) if self.all else ("or", self.any or [])
        return {"type": kind, "filters": [f.to_domain() for f in items]}


@strawberry.input(description="Which chunks a search may return.")
class VectorStoreSearchFilter:
    attributes: FileAttributeFilter | None = strawberry.field(
        default=None, description="Only files whose attributes match."
    )
    min_score: float | None = strawberry.field(default=None, description="Only chunks scoring at least this (0 to 1).")


@strawberry.input(description="The store to create.")
class CreateVectorStoreInput:
    name: str = strawberry.field(description="1-128 characters, unique within the tenant.")
    description: str | None = strawberry.field(default=None, description="At most 2048 characters.")
    expires_after_days: int | None = strawberry.field(
        default=None, description="Expire 1-365 days after it was last active; never when null."
    )
    metadata: JSON | None = strawberry.field(default=None, description="An object kept with it.")


@strawberry.type(description="The store created.")
class CreateVectorStorePayload:
    user_errors: list[graph.UserError]
    vector_store: VectorStoreNode | None = strawberry.field(default=None, description="The store created.")


@strawberry.input(description="The store to delete, with its files and chunks.")
class DeleteVectorStoreInput:
    id: strawberry.ID = strawberry.field(description="The store's global id.")


@strawberry.type(description="The deleted store's id.")
class DeleteVectorStorePayload:
    user_errors: list[graph.UserError]
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted store's global id.")


@strawberry.input(description="A static chunking: chunks of `maxChunkSizeTokens`, overlapping by `chunkOverlapTokens`.")
class StaticChunkingInput:
    max_chunk_size_tokens: int = strawberry.field(description="100-4096.")
    chunk_overlap_tokens: int = strawberry.field(default=0, description="At most half the chunk size.")


def _chunking(value: StaticChunkingInput | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "type": "static",
        "static": {
            "max_chunk_size_tokens": value.max_chunk_size_tokens,
            "chunk_overlap_tokens": value.chunk_overlap_tokens,
        },
    }


@strawberry.input(description="A file to attach by its file id, and how to ingest it.")
class AttachVectorStoreFileInput:
    vector_store_id: strawberry.ID = strawberry.field(description="The store's global id.")
    file_id: str = strawberry.field(description="The file id (`file-<hex>`) or the stored object's UUID.")
    attributes: JSON | None = strawberry.field(
        default=None, description="Up to 16 attributes (strings up to 512 characters, numbers, booleans)."
    )
    chunking: StaticChunkingInput | None = strawberry.field(default=None, description="Automatic when null.")
    wait: bool = strawberry.field(default=True, description="Return once ingestion has finished.")


@strawberry.type(description="The file attached.")
class AttachVectorStoreFilePayload:
    user_errors: list[graph.UserError]
    vector_store_file: VectorStoreFileNode | None = strawberry.field(
        default=None, description="The file attached, `COMPLETED` or `FAILED` when `wait` was true."
    )


@strawberry.input(description="A stored object to attach, and how to ingest it.")
class UploadVectorStoreFileInput:
    vector_store_id: strawberry.ID = strawberry.field(description="The store's global id.")
    storage_object_id: strawberry.ID = strawberry.field(description="The uploaded stored object's global id.")
    agent_key: str | None = strawberry.field(
        default=None, description="The agent it is for (one that uses file search), if any."
    )
    attributes: JSON | None = strawberry.field(
        default=None, description="Up to 16 attributes (strings up to 512 characters, numbers, booleans)."
    )
    chunking: StaticChunkingInput | None = strawberry.field(default=None, description="Automatic when null.")
    wait: bool = strawberry.field(default=True, description="Return once ingestion has finished.")


@strawberry.type(description="The file attached.")
class UploadVectorStoreFilePayload:
    user_errors: list[graph.UserError]
    vector_store_file: VectorStoreFileNode | None = strawberry.field(
        default=None, description="The file attached, `COMPLETED` or `FAILED` when `wait` was true."
    )


@strawberry.input(description="The file to detach from its store (its chunks go; the stored object stays).")
class DeleteVectorStoreFileInput:
    id: strawberry.ID = strawberry.field(description="The vector store file's global id.")


@strawberry.type(description="The deleted file's id.")
class DeleteVectorStoreFilePayload:
    user_errors: list[graph.UserError]
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted file's global id.")


@strawberry.input(description="A store and the agent whose file search is to search it.")
class BindVectorStoreInput:
    vector_store_id: strawberry.ID = strawberry.field(description="The store's global id.")
    agent_key: str = strawberry.field(description="The agent's key in the catalog (one that uses file search).")


@strawberry.type(description="The store, now searched by the agent.")
class BindVectorStorePayload:
    user_errors: list[graph.UserError]
    vector_store: VectorStoreNode | None = strawberry.field(default=None, description="The store bound.")
    agent_key: str | None = strawberry.field(default=None, description="The agent that now searches it.")


@strawberry.input(description="A store and the agent that is to stop searching it.")
class UnbindVectorStoreInput:
    vector_store_id: strawberry.ID = strawberry.field(description="The store's global id.")
    agent_key: str = strawberry.field(description="The agent's key in the catalog.")


@strawberry.type(description="The store, no longer searched by the agent.")
class UnbindVectorStorePayload:
    user_errors: list[graph.UserError]
    vector_store: VectorStoreNode | None = strawberry.field(default=None, description="The store unbound.")
    agent_key: str | None = strawberry.field(default=None, description="The agent that no longer searches it.")


# The domain names these input fields by their REST names; the native inputs call them otherwise.
_RENAMED = {
    "input.chunking_strategy": "input.chunking",
    "input.expires_after": "input.expiresAfterDays",
    "agentKey": "input.agentKey",
}


async def _readable_store(info: strawberry.Info, value: strawberry.ID, field: str) -> uuid.UUID:
    """The store a mutation names, or NotFound at `field` (so that a later NotFound of the
    domain's is about the mutation's other input)."""
    key = decode_id(value, STORE, field)
    (row,) = await r.stores_by_ids(info.context, [key])
    if row is None:
        raise NotFound("Vector store not found", details=[{"field": field, "message": "Vector store not found"}])
    return key


MAX_MATCHES = Annotated[
    int | None,
    strawberry.argument(
        description="How many of the best matches to return (1 to 50; 10 by default).",
        metadata=limited(r.MAX_NUM_RESULTS),
    ),
]


@strawberry.type
class Query:
    @strawberry.field(extensions=VIEW, description="The tenant's vector stores, newest first.")
    async def vector_stores(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
    ) -> graph.Connection[VectorStoreNode]:
        return await graph.paginate(
            lambda offset, limit: r.list_stores(info.context, limit, offset),
            VectorStoreNode.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(extensions=VIEW, description="A vector store by its global id (null if there is none).")
    async def vector_store(
        self, info: strawberry.Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its global id.")]
    ) -> VectorStoreNode | None:
        return VectorStoreNode.from_row(await r.get_store(info.context, decode_id(id, STORE)))

    @strawberry.field(
        extensions=VIEW,
        description="The chunks of a store's completed files that best match `query`, best first (a ranked "
        "list: one page of the best `first`). Null, with NOT_FOUND, for a store there is none of.",
    )
    async def search_vector_store(
        self,
        info: strawberry.Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The store's global id.")],
        query: Annotated[str, strawberry.argument(description="What to look for, in words.")],
        first: MAX_MATCHES = None,
        filter: VectorStoreSearchFilter | None = None,
    ) -> graph.Connection[VectorStoreChunkMatch] | None:
        attributes = filter.attributes.to_domain() if filter and filter.attributes else None
        threshold = {"score_threshold": filter.min_score} if filter and filter.min_score is not None else None
        page = await r.search(info.context, decode_id(id, STORE), query, attributes, first, threshold)
        return graph.connection_of([VectorStoreChunkMatch.from_match(m) for m in page.data])


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE, description="Create a vector store.")
    async def create_vector_store(
        self, info: strawberry.Info, input: CreateVectorStoreInput
    ) -> CreateVectorStorePayload:
        async def action() -> dict[str, Any]:
            expiry = (
                None
                if input.expires_after_days is None
                else {"anchor": "last_active_at", "days": input.expires_after_days}
            )
            row = await r.create_store(info.context, input.name, input.description, expiry, input.metadata)
            return {"vector_store": VectorStoreNode.from_row(row)}

        return await graph.payload(CreateVectorStorePayload, acted(action(), _RENAMED))

    @strawberry.mutation(extensions=WRITE, description="Delete a vector store, its files and their chunks.")
    async def delete_vector_store(
        self, info: strawberry.Info, input: DeleteVectorStoreInput
    ) -> DeleteVectorStorePayload:
        async def action() -> dict[str, Any]:
            await r.delete_store(info.context, decode_id(input.id, STORE, "input.id"))
            return {"deleted_id": input.id}

        return await graph.payload(DeleteVectorStorePayload, acted(action(), not_found="input.id"))

    @strawberry.mutation(extensions=WRITE, description="Attach a file by its file id and ingest it.")
    async def attach_vector_store_file(
        self, info: strawberry.Info, input: AttachVectorStoreFileInput
    ) -> AttachVectorStoreFilePayload:
        async def action() -> dict[str, Any]:
            row = await r.attach_file(
                info.context,
                await _readable_store(info, input.vector_store_id, "input.vectorStoreId"),
                input.file_id,
                input.attributes,
                _chunking(input.chunking),
                input.wait,
            )
            return {"vector_store_file": VectorStoreFileNode.from_row(row)}

        renamed = {**_RENAMED, "input.object_id": "input.fileId"}
        return await graph.payload(AttachVectorStoreFilePayload, acted(action(), renamed, not_found="input.fileId"))

    @strawberry.mutation(extensions=WRITE, description="Attach an uploaded stored object and ingest it.")
    async def upload_vector_store_file(
        self, info: strawberry.Info, input: UploadVectorStoreFileInput
    ) -> UploadVectorStoreFilePayload:
        async def action() -> dict[str, Any]:
            store_id = await _readable_store(info, input.vector_store_id, "input.vectorStoreId")
            object_id = decode_id(input.storage_object_id, "StorageObject", "input.storageObjectId")
            (found,) = await objects.objects_by_ids(info.context, [object_id])
            if found is None:
                raise NotFound(
                    "Object not found", details=[{"field": "input.storageObjectId", "message": "Object not found"}]
                )
            row = await r.upload_file(
                info.context,
                store_id,
                object_id,
                input.agent_key,
                input.attributes,
                _chunking(input.chunking),
                input.wait,
            )
            return {"vector_store_file": VectorStoreFileNode.from_row(row)}

        renamed = {**_RENAMED, "input.object_id": "input.storageObjectId"}
        return await graph.payload(UploadVectorStoreFilePayload, acted(action(), renamed, not_found="input.agentKey"))

    @strawberry.mutation(extensions=WRITE, description="Detach a file from its store and drop its chunks.")
    async def delete_vector_store_file(
        self, info: strawberry.Info, input: DeleteVectorStoreFileInput
    ) -> DeleteVectorStoreFilePayload:
        async def action() -> dict[str, Any]:
            (row,) = await r.files_by_ids(info.context, [decode_id(input.id, FILE, "input.id")])
            if row is None:
                raise NotFound(
                    "Vector store file not found",
                    details=[{"field": "input.id", "type": "not_found", "message": "Vector store file not found"}],
                )
            await r.delete_file(info.context, row.vector_store_id, row.openai_file_id)
            return {"deleted_id": input.id}

        return await graph.payload(DeleteVectorStoreFilePayload, acted(action(), not_found="input.id"))

    @strawberry.mutation(
        extensions=WRITE,
        description="Let an agent's file search search this store (an agent may search several). "
        "Binding a bound pair again changes nothing.",
    )
    async def bind_vector_store(self, info: strawberry.Info, input: BindVectorStoreInput) -> BindVectorStorePayload:
        async def action() -> dict[str, Any]:
            store_id = await _readable_store(info, input.vector_store_id, "input.vectorStoreId")
            row = await r.bind_agent(info.context, store_id, input.agent_key)
            return {"vector_store": VectorStoreNode.from_row(row), "agent_key": input.agent_key}

        return await graph.payload(BindVectorStorePayload, acted(action(), _RENAMED, not_found="input.agentKey"))

    @strawberry.mutation(extensions=WRITE, description="Stop an agent's file search searching this store (idempotent).")
    async def unbind_vector_store(
        self, info: strawberry.Info, input: UnbindVectorStoreInput
    ) -> UnbindVectorStorePayload:
        async def action() -> dict[str, Any]:
            store_id = await _readable_store(info, input.vector_store_id, "input.vectorStoreId")
            row = await r.unbind_agent(info.context, store_id, input.agent_key)
            return {"vector_store": VectorStoreNode.from_row(row), "agent_key": input.agent_key}

        return await graph.payload(UnbindVectorStorePayload, acted(action(), _RENAMED, not_found="input.agentKey"))
