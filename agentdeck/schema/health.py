from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry

from agentdeck.domain.status import health as r
from agentdeck.schema.permissions import Scope, allow


@strawberry.type(description="Health check response payload.")
class Health:
    status: str = strawberry.field(description="Service health status.")
    timestamp: str = strawberry.field(description="ISO-8601 timestamp of the probe.")
    version: str = strawberry.field(description="Semantic version of the service.")
    uptime: float | None = strawberry.field(description="Process uptime in seconds.")


@strawberry.type(description="Basic service information (name, version, entry-point links).")
class ServiceInfo:
    service: str
    version: str
    description: str
    docs: str
    health: str
    api: str
    chat: str
    agents: str


@strawberry.enum
class NoticeLevel(Enum):
    info = "info"
    warning = "warning"
    critical = "critical"


@strawberry.type(description="An operator's announcement, pushed to every connected client.")
class Notice:
    message: str
    level: NoticeLevel
    published_at: datetime


@strawberry.input
class NoticeInput:
    message: str = strawberry.field(description="1-500 characters.")
    level: NoticeLevel = NoticeLevel.info


@strawberry.type
class Query:
    @strawberry.field(description="Basic service information.")
    def service(self) -> ServiceInfo:
        return r.service_info()  # type: ignore[return-value]

    @strawberry.field(description="Liveness probe.")
    def health(self, info: strawberry.Info) -> Health:
        return r.liveness(info.context)  # type: ignore[return-value]

    @strawberry.field(description="Readiness: the database and, when configured, Redis answer.")
    async def readiness(self, info: strawberry.Info) -> Health:
        return await r.readiness(info.context)  # type: ignore[return-value]

    @strawberry.field(description="Storage provider health (does not gate readiness).")
    async def storage_health(self, info: strawberry.Info) -> Health:
        return await r.storage_health(info.context)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Broadcast a notice to every subscriber on every server process.",
        extensions=allow(Scope("platform:operator")),
    )
    async def publish_notice(self, info: strawberry.Info, input: NoticeInput) -> Notice:
        return await r.publish_notice(info.context, input.message, input.level.value)  # type: ignore[return-value]


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Operator notices as they are published.")
    async def notices(self, info: strawberry.Info) -> AsyncGenerator[Notice, None]:
        async for notice in r.notices(info.context):
            yield notice  # type: ignore[misc]
