from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry

from agentdeck import __version__
from agentdeck.domain.status import health as r
from agentdeck.schema import graph
from agentdeck.schema.permissions import Scope, allow
from agentdeck.schema.status import USER_ERRORS, user_errors_of


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


# -- the legacy roots: the REST face (/, /health*, /api/v1/notices) runs these ---------------


@strawberry.type
class RestQuery:
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
class RestMutation:
    @strawberry.mutation(
        description="Broadcast a notice to every subscriber on every server process.",
        extensions=allow(Scope("platform:operator")),
    )
    async def publish_notice(self, info: strawberry.Info, input: NoticeInput) -> Notice:
        return Notice.from_message(await r.publish_notice(info.context, input.message, input.level.value))


@strawberry.type
class RestSubscription:
    @strawberry.subscription(description="Operator notices as they are published.")
    async def notices(self, info: strawberry.Info) -> AsyncGenerator[Notice, None]:
        async for notice in r.notices(info.context):
            yield Notice.from_message(notice)


# -- the native graph ---------------------------------------------------------------------------


@strawberry.enum(description="What a health probe found.")
class HealthStatus(Enum):
    HEALTHY = "healthy"
    READY = "ready"


@strawberry.type(description="The answer of a health probe. A failing probe is an UNAVAILABLE error instead.")
class HealthCheck:
    status: HealthStatus = strawberry.field(description="What the probe found.")
    checked_at: datetime = strawberry.field(description="When the probe ran.")
    version: str = strawberry.field(description="The service's semantic version.")
    uptime_seconds: float = strawberry.field(description="How long this server process has run, in seconds.")

    @classmethod
    def from_probe(cls, probe: r.Probe) -> HealthCheck:
        return cls(
            status=HealthStatus(probe.status),
            checked_at=probe.at,
            version=__version__,
            uptime_seconds=round(probe.uptime_s, 3),
        )


@strawberry.type(description="Where a client finds the service's entry points (paths on this host).")
class ServiceLinks:
    docs: str = strawberry.field(description="The REST API's interactive documentation (Swagger UI).")
    health: str = strawberry.field(description="The REST liveness probe.")
    graphql: str = strawberry.field(description="This GraphQL endpoint (GraphiQL in a browser).")
    rest: str = strawberry.field(description="The REST API's base path.")


@strawberry.type(description="This service: its name, version and entry points.")
class Service:
    name: str = strawberry.field(description="The service's name.")
    version: str = strawberry.field(description="The service's semantic version.")
    description: str = strawberry.field(description="What the service is.")
    links: ServiceLinks = strawberry.field(description="Where its entry points are.")

    @classmethod
    def of_this_service(cls) -> Service:
        legacy = ServiceInfo.of_this_service()
        return cls(
            name=legacy.service,
            version=legacy.version,
            description=legacy.description,
            links=ServiceLinks(docs=legacy.docs, health=legacy.health, graphql="/graphql", rest=legacy.api),
        )


@strawberry.enum(description="How urgent an operator notice is.")
class PlatformNoticeLevel(Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@strawberry.type(description="An operator's announcement, pushed to every connected client.")
class PlatformNotice:
    message: str = strawberry.field(description="The announcement (1-500 characters).")
    level: PlatformNoticeLevel = strawberry.field(description="How urgent it is.")
    published_at: datetime = strawberry.field(description="When it was published.")

    @classmethod
    def from_message(cls, notice: dict[str, Any]) -> PlatformNotice:
        """A notice as the domain publishes it (`domain/status/health.publish_notice`)."""
        return cls(
            message=notice["message"],
            level=PlatformNoticeLevel(notice["level"]),
            published_at=datetime.fromisoformat(notice["published_at"]),
        )


@strawberry.input(description="The notice to broadcast.")
class PublishNoticeInput:
    message: str = strawberry.field(description="1-500 characters; surrounding blanks are trimmed.")
    level: PlatformNoticeLevel = strawberry.field(default=PlatformNoticeLevel.INFO, description="INFO by default.")


@strawberry.type(description="The result of `publishNotice`.")
class PublishNoticePayload:
    notice: PlatformNotice | None = strawberry.field(default=None, description="The notice as subscribers got it.")
    user_errors: list[graph.UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class Query:
    @strawberry.field(description="This service: name, version and entry points.")
    def service(self) -> Service:
        return Service.of_this_service()

    @strawberry.field(description="Liveness: this process answers (no dependency is probed; cheap).")
    def health(self, info: strawberry.Info) -> HealthCheck:
        return HealthCheck.from_probe(r.liveness(info.context))

    @strawberry.field(
        description="Readiness: the database and, when configured, Redis answer; else an UNAVAILABLE error."
    )
    async def readiness(self, info: strawberry.Info) -> HealthCheck:
        return HealthCheck.from_probe(await r.readiness(info.context))

    @strawberry.field(description="The storage provider's health (does not gate readiness); UNAVAILABLE when down.")
    async def storage_health(self, info: strawberry.Info) -> HealthCheck:
        return HealthCheck.from_probe(await r.storage_health(info.context))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Broadcast a notice to every `notices` subscriber on every server process (platform operators).",
        extensions=allow(Scope("platform:operator")),
    )
    async def publish_notice(self, info: strawberry.Info, input: PublishNoticeInput) -> PublishNoticePayload:
        async def action() -> dict[str, Any]:
            notice = await r.publish_notice(info.context, input.message, input.level.value)
            return {"notice": PlatformNotice.from_message(notice)}

        return await user_errors_of(PublishNoticePayload, action())


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Operator notices as they are published.")
    async def notices(self, info: strawberry.Info) -> AsyncGenerator[PlatformNotice, None]:
        async for notice in r.notices(info.context):
            yield PlatformNotice.from_message(notice)
