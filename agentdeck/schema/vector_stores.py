from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.db import models as db
from agentdeck.domain.common.results import Page
from agentdeck.domain.files import vector_stores as r
from agentdeck.schema.limits import Offset, PageSize, limited
from agentdeck.schema.permissions import TenantRole, allow


@strawberry.type(description="A tenant's vector store (searchable text from attached files).")
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


@strawberry.type(description="A file in a vector store; `status` is in_progress, completed or failed.")
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
class Query:
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
class Mutation:
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

    @strawberry.mutation(extensions=VIEW, description="Search a vector store (a mutation: POST, no caching).")
    async def search_vector_store(
        self, info: strawberry.Info, vector_store_id: uuid.UUID, input: VectorStoreSearchInput
    ) -> VectorStoreSearchPage:
        page = await r.search(
            info.context, vector_store_id, input.query, input.filters, input.max_num_results, input.ranking_options
        )
        return VectorStoreSearchPage.from_page(page)
