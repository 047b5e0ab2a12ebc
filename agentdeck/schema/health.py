from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry

from agentdeck import __version__
from agentdeck.domain.status import health as r
from agentdeck.schema.permissions import Scope, allow


@strawberry.type(description="Health check response payload.")
class Health:
    status: str = strawberry.field(description="Service health status.")
    timestamp: str = strawberry.field(description="ISO-8601 timestamp of the probe.")
    version: str = strawberry.field(description="Semantic version of the service.")
    uptime: float | None = strawberry.field(description="Process uptime in seconds.")

    @classmethod
    def from_probe(cls, probe: r.Probe) -> Health:
        # The documented contract serialises this timestamp without an offset (naive UTC).
        return cls(
            status=probe.status,
            timestamp=probe.at.astimezone(UTC).replace(tzinfo=None).isoformat(),
            version=__version__,
            uptime=round(probe.uptime_s, 3),
        )


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

    @classmethod
    def of_this_service(cls) -> ServiceInfo:
        return cls(
            service="agentdeck",
            version=__version__,
            description="Multi-tenant AI-agent platform: GraphQL at /graphql, REST at /api/v1.",
            docs="/docs",
            health="/health",
            api="/api/v1",
            chat="/api/v1/chat",
            agents="/api/v1/agents",
        )


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

    @classmethod
    def from_message(cls, notice: dict[str, Any]) -> Notice:
        """A notice as `publishNotice` publishes it."""
        return cls(
            message=notice["message"],
            level=NoticeLevel(notice["level"]),
            published_at=datetime.fromisoformat(notice["published_at"]),
        )


@strawberry.input
class NoticeInput:
    message: str = strawberry.field(description="1-500 characters.")
    level: NoticeLevel = NoticeLevel.info


@strawberry.type
class Query:
    @strawberry.field(description="Basic service information.")
    def service(self) -> ServiceInfo:
        return ServiceInfo.of_this_service()

    @strawberry.field(description="Liveness probe.")
    def health(self, info: strawberry.Info) -> Health:
        return Health.from_probe(r.liveness(info.context))

    @strawberry.field(description="Readiness: the database and, when configured, Redis answer.")
    async def readiness(self, info: strawberry.Info) -> Health:
        return Health.from_probe(await r.readiness(info.context))

    @strawberry.field(description="Storage provider health (does not gate readiness).")
    async def storage_health(self, info: strawberry.Info) -> Health:
        return Health.from_probe(await r.storage_health(info.context))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Broadcast a notice to every subscriber on every server process.",
        extensions=allow(Scope("platform:operator")),
    )
    async def publish_notice(self, info: strawberry.Info, input: NoticeInput) -> Notice:
        return Notice.from_message(await r.publish_notice(info.context, input.message, input.level.value))


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Operator notices as they are published.")
    async def notices(self, info: strawberry.Info) -> AsyncGenerator[Notice, None]:
        async for notice in r.notices(info.context):
            yield Notice.from_message(notice)
