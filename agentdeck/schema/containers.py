"""Code-interpreter containers: the native graph (`Query`, `Mutation`: the `Container` node) and
the legacy fields the REST layer runs (`RestQuery`, `RestMutation`). Rules in
`domain/files/containers.py`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db import models as db
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Page
from agentdeck.domain.files import containers as r
from agentdeck.domain.files.downloads import container_file_url
from agentdeck.errors import NotFound
from agentdeck.schema import graph
from agentdeck.schema.access_native import bounded, check_input, input_key, lookup_key, payload
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
class RestQuery:
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
class RestMutation:
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


# -- the native graph ------------------------------------------------------------------------


@strawberry.enum(description="What a container's provider says of it.")
class ContainerStatus(Enum):
    RUNNING = "running"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNKNOWN = r.UNKNOWN_STATUS


@strawberry.enum(description="How much memory a container has.")
class ContainerMemoryLimit(Enum):
    GB_1 = "1g"
    GB_4 = "4g"
    GB_16 = "16g"
    GB_64 = "64g"


@strawberry.enum(description="What a container's expiry counts from.")
class ContainerExpiryAnchor(Enum):
    LAST_ACTIVE_AT = "last_active_at"


@strawberry.type(description="When an idle container expires.")
class ContainerExpiry:
    anchor: ContainerExpiryAnchor = strawberry.field(description="What the minutes count from.")
    minutes: int = strawberry.field(description="Minutes after the anchor (1 to 20).")

    @classmethod
    def from_stored(cls, value: Any) -> ContainerExpiry | None:
        if not isinstance(value, dict) or not isinstance(value.get("minutes"), int):
            return None
        try:
            return cls(anchor=ContainerExpiryAnchor(value.get("anchor")), minutes=value["minutes"])
        except ValueError:
            return None


@strawberry.type(description="A file in a container.")
class ContainerFile:
    file_id: str = strawberry.field(description="The provider's file id.")
    download_url: str = strawberry.field(
        description="REST's `/api/v1/openai/containers/{containerId}/files/{fileId}/download` on the public URL."
    )


async def _agent_keys(info: strawberry.Info, keys: list[uuid.UUID]) -> list[list[str]]:
    found = await r.agent_keys_by_container(info.context, list(dict.fromkeys(keys)))
    return [found.get(k, []) for k in keys]


@strawberry.type(
    name="Container",
    description="A code-interpreter container of the caller's tenant (an OpenAI container when OpenAI is "
    "configured, else a local record).",
)
class ContainerNode(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The container's UUID.")
    name: str = strawberry.field(description="Its name (1 to 128 characters).")
    provider_id: str = strawberry.field(description="The provider's id of the container (OpenAI's `cntr_…`).")
    memory_limit: ContainerMemoryLimit = strawberry.field(description="How much memory it has.")
    status: ContainerStatus = strawberry.field(description="What its provider last said of it.")
    expires_after: ContainerExpiry | None = strawberry.field(description="When it expires when idle, if it does.")
    file_ids: list[str] = strawberry.field(description="The provider file ids copied into it at creation.")
    metadata: JSON = strawberry.field(description="The caller's own key/value annotations.")
    last_active_at: datetime | None = strawberry.field(description="When it was last used, if known.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(
        description="The files copied into it at creation, each with where it is downloaded (GET with the "
        "bearer token): from OpenAI for an OpenAI container, else from the tenant's storage."
    )
    def files(self, info: strawberry.Info) -> graph.Connection[ContainerFile]:
        base = info.context.settings.public_url
        return graph.connection_of(
            [
                ContainerFile(file_id=f, download_url=container_file_url(base, self.provider_id, f))
                for f in self.file_ids
            ]
        )

    @strawberry.field(description="The keys of the agents whose code interpreter runs in this container.")
    async def agent_keys(self, info: strawberry.Info) -> list[str]:
        return await graph.loader(info, "container.agent_keys", partial(_agent_keys, info)).load(self.database_id)

    @classmethod
    def from_row(cls, row: db.Container) -> ContainerNode:
        return cls(
            key=str(row.id),
            database_id=row.id,
            name=row.name,
            provider_id=row.openai_id,
            memory_limit=ContainerMemoryLimit(row.memory_limit),
            status=ContainerStatus(r.status_of(row)),
            expires_after=ContainerExpiry.from_stored(row.expires_after),
            file_ids=list(row.file_ids or []),
            metadata=JSON(row.meta or {}),
            last_active_at=row.last_active_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ContainerNode | None]:
        keys = [_uuid(i) for i in node_ids]
        found = await r.containers_by_ids(info.context, [k for k in keys if k is not None])
        return [cls.from_row(found[k]) if k in found else None for k in keys]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


TYPE = "Container"
MISSING = "Container not found"


@strawberry.input(description="A container expiry: minutes of idleness after the anchor.")
class ContainerExpiryInput:
    minutes: int = strawberry.field(description="1 to 20.")
    anchor: ContainerExpiryAnchor = strawberry.field(
        default=ContainerExpiryAnchor.LAST_ACTIVE_AT, description="What the minutes count from."
    )


@strawberry.input(description="A new container.")
class CreateContainerInput:
    name: str = strawberry.field(
        description="1 to 128 characters (trimmed).", metadata=bounded(Limit(min_length=1, max_length=128))
    )
    memory_limit: ContainerMemoryLimit | None = strawberry.field(default=None, description="1 GB by default.")
    expires_after: ContainerExpiryInput | None = strawberry.field(
        default=None, description="When it expires when idle; the provider's default if null."
    )
    file_ids: list[str] | None = strawberry.field(
        default=None, description="Provider file ids to copy into the container (at most 100)."
    )
    metadata: JSON | None = strawberry.field(default=None, description="Key/value annotations (an object).")


@strawberry.type(description="The result of createContainer.")
class CreateContainerPayload:
    container: ContainerNode | None = strawberry.field(default=None, description="The new container.")
    user_errors: list[graph.UserError]


@strawberry.input(description="The container to delete.")
class DeleteContainerInput:
    id: strawberry.ID = strawberry.field(description="The container's global id.")


@strawberry.type(description="The result of deleteContainer.")
class DeleteContainerPayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted container's id.")
    user_errors: list[graph.UserError]


@strawberry.input(description="An agent and the container its code interpreter is to run in.")
class BindAgentContainerInput:
    agent_key: str = strawberry.field(description="The agent's key in the catalog.")
    container_id: strawberry.ID = strawberry.field(description="The container's global id.")


@strawberry.type(description="The result of bindAgentContainer.")
class BindAgentContainerPayload:
    agent_key: str | None = strawberry.field(default=None, description="The agent now bound.")
    container: ContainerNode | None = strawberry.field(default=None, description="The container the agent now uses.")
    user_errors: list[graph.UserError]


@strawberry.input(description="The agent to unbind from its container.")
class UnbindAgentContainerInput:
    agent_key: str = strawberry.field(description="The agent's key in the catalog.")


@strawberry.type(description="The result of unbindAgentContainer.")
class UnbindAgentContainerPayload:
    agent_key: str | None = strawberry.field(
        default=None, description="The agent, which now gets an automatic container."
    )
    user_errors: list[graph.UserError]


@strawberry.type
class Query:
    @strawberry.field(extensions=VIEW, description="The tenant's containers, newest first.")
    async def containers(
        self, info: strawberry.Info, first: graph.First = None, after: graph.After = None
    ) -> graph.Connection[ContainerNode]:
        return await graph.paginate(
            lambda offset, limit: r.list_containers(info.context, limit, offset),
            ContainerNode.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(extensions=VIEW, description="A container of the tenant by its id, or null.")
    async def container(self, info: strawberry.Info, id: strawberry.ID) -> ContainerNode | None:
        key = lookup_key(id, TYPE, MISSING)
        return ContainerNode.from_row(await r.get_container(info.context, key))

    @strawberry.field(extensions=VIEW, description="The container an agent is bound to, or null if it has none.")
    async def agent_container(self, info: strawberry.Info, agent_key: str) -> ContainerNode | None:
        row = await r.container_for_agent(info.context, agent_key)
        return ContainerNode.from_row(row) if row else None


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=WRITE, description="Create a container (the tenant's quota permitting).")
    async def create_container(self, info: strawberry.Info, input: CreateContainerInput) -> CreateContainerPayload:
        async def create() -> dict[str, Any]:
            check_input(input)
            expiry = input.expires_after
            row = await r.create_container(
                info.context,
                input.name,
                input.memory_limit.value if input.memory_limit else None,
                {"anchor": expiry.anchor.value, "minutes": expiry.minutes} if expiry else None,
                input.file_ids,
                input.metadata,
            )
            return {"container": ContainerNode.from_row(row)}

        return await payload(CreateContainerPayload, create())

    @strawberry.mutation(extensions=WRITE, description="Delete a container; the agents bound to it are unbound.")
    async def delete_container(self, info: strawberry.Info, input: DeleteContainerInput) -> DeleteContainerPayload:
        async def delete() -> dict[str, Any]:
            await r.delete_container(info.context, input_key(input.id, TYPE, MISSING))
            return {"deleted_id": input.id}

        return await payload(DeleteContainerPayload, delete(), missing="id")

    @strawberry.mutation(extensions=WRITE, description="Run an agent's code interpreter in this container.")
    async def bind_agent_container(
        self, info: strawberry.Info, input: BindAgentContainerInput
    ) -> BindAgentContainerPayload:
        async def bind() -> dict[str, Any]:
            key = input_key(input.container_id, TYPE, MISSING, "containerId")
            try:
                row = await r.get_container(info.context, key, "admin")
            except NotFound as error:
                raise NotFound(
                    error.message, details=[{"loc": ["input", "containerId"], "msg": error.message}]
                ) from None
            await r.bind_agent(info.context, input.agent_key, key)  # now a NotFound is the agent's
            return {"agent_key": input.agent_key, "container": ContainerNode.from_row(row)}

        return await payload(BindAgentContainerPayload, bind(), missing="agentKey")

    @strawberry.mutation(extensions=WRITE, description="Unbind an agent from its container (idempotent).")
    async def unbind_agent_container(
        self, info: strawberry.Info, input: UnbindAgentContainerInput
    ) -> UnbindAgentContainerPayload:
        async def unbind() -> dict[str, Any]:
            await r.unbind_agent(info.context, input.agent_key)
            return {"agent_key": input.agent_key}

        return await payload(UnbindAgentContainerPayload, unbind(), missing="agentKey")
