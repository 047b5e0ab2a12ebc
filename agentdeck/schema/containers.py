from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.db import models as db
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Page
from agentdeck.domain.files import containers as r
from agentdeck.schema.limits import Offset, PageSize, limited
from agentdeck.schema.permissions import TenantRole, allow


@strawberry.type(description="A code-interpreter container (an OpenAI container when OpenAI is configured).")
class Container:
    id: uuid.UUID
    openai_id: str
    tenant_id: uuid.UUID
    owner_user_id: uuid.UUID | None
    name: str
    memory_limit: str
    status: str
    expires_after: JSON | None
    last_active_at: datetime | None
    metadata: JSON
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: db.Container) -> Container:
        return cls(
            id=row.id,
            openai_id=row.openai_id,
            tenant_id=row.tenant_id,
            owner_user_id=row.owner_user_id,
            name=row.name,
            memory_limit=row.memory_limit,
            status=row.status,
            expires_after=JSON(row.expires_after),
            last_active_at=row.last_active_at,
            metadata=JSON(row.meta),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class ContainerList:
    items: list[Container]
    total: int

    @classmethod
    def from_page(cls, page: Page[db.Container]) -> ContainerList:
        return cls(items=[Container.from_row(x) for x in page.items], total=page.total)


@strawberry.input
class ContainerCreateInput:
    name: str = strawberry.field(metadata=limited(Limit(min_length=1, max_length=128)))
    memory_limit: str | None = strawberry.field(default=None, description="1g, 4g, 16g, or 64g")
    expires_after: JSON | None = None
    file_ids: list[str] | None = None
    metadata: JSON | None = None


@strawberry.input
class ContainerBindInput:
    container_id: uuid.UUID


VIEW, WRITE = allow(TenantRole("viewer")), allow(TenantRole("admin"))


@strawberry.type
class Query:
    @strawberry.field(extensions=VIEW)
    async def containers(self, info: strawberry.Info, limit: PageSize = 20, offset: Offset = 0) -> ContainerList:
        return ContainerList.from_page(await r.list_containers(info.context, limit, offset))

    @strawberry.field(extensions=VIEW)
    async def container(self, info: strawberry.Info, container_id: uuid.UUID) -> Container:
        return Container.from_row(await r.get_container(info.context, container_id))

    @strawberry.field(extensions=VIEW, description="The container an agent is bound to, if any.")
    async def agent_container(self, info: strawberry.Info, agent_key: str) -> Container | None:
        row = await r.container_for_agent(info.context, agent_key)
        return Container.from_row(row) if row else None


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE)
    async def create_container(self, info: strawberry.Info, input: ContainerCreateInput) -> Container:
        return Container.from_row(
            await r.create_container(
                info.context, input.name, input.memory_limit, input.expires_after, input.file_ids, input.metadata
            )
        )

    @strawberry.mutation(extensions=WRITE)
    async def delete_container(self, info: strawberry.Info, container_id: uuid.UUID) -> bool:
        return await r.delete_container(info.context, container_id)

    @strawberry.mutation(extensions=WRITE, description="Run an agent's code interpreter in this container.")
    async def bind_agent_container(self, info: strawberry.Info, agent_key: str, input: ContainerBindInput) -> bool:
        return await r.bind_agent(info.context, agent_key, input.container_id)

    @strawberry.mutation(extensions=WRITE)
    async def unbind_agent_container(self, info: strawberry.Info, agent_key: str) -> bool:
        return await r.unbind_agent(info.context, agent_key)
