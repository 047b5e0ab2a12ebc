"""The activity feed: the native graph (`ActivityEvent` nodes, the `activity` connection, the
read-state mutations, the `activityEvents` subscription) and, for the REST layer, the legacy
fields (`RestQuery`, `RestMutation`, `RestSubscription`), over `domain/activity`.

Everything needs the `activity:read` scope (owners and admins, operators, the service accounts
granted it) and a tenant context; read state is the caller's own."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncGenerator, Iterable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.domain import activity as r
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Page
from agentdeck.errors import InvalidInput, NotFound
from agentdeck.schema import graph
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Scope, TenantRole, Verified, allow

READ = allow(Verified(), Scope(r.SCOPE), TenantRole("viewer"))
TEXT = Limit(max_length=256)  # a filter value: an action, an id, a request id
TYPE_NAME = "ActivityEvent"


# == The legacy shapes (the REST face) ===========================================================


@strawberry.enum
class RestActivityStatus(enum.Enum):
    success = "success"
    failure = "failure"
    pending = "pending"


@strawberry.type(name="ActivityEventItem")
class RestActivityEvent:
    id: str
    tenant_id: str
    action: str
    created_at: datetime
    actor_id: str | None
    actor_type: str | None
    actor_role: str | None
    object_type: str | None
    object_id: str | None
    object_name: str | None
    status: str
    source: str | None
    request_id: str | None
    ip_hash: str | None
    user_agent: str | None
    metadata: JSON | None
    read_state: str

    @classmethod
    def from_entry(cls, entry: r.Entry) -> RestActivityEvent:
        e = entry.event
        return cls(
            id=str(e.id),
            tenant_id=str(e.tenant_id),
            action=e.action,
            created_at=e.created_at,
            actor_id=e.actor_id,
            actor_type=e.actor_type,
            actor_role=e.actor_role,
            object_type=e.object_type,
            object_id=e.object_id,
            object_name=e.object_name,
            status=e.status,
            source=e.source,
            request_id=e.request_id,
            ip_hash=e.ip_hash,
            user_agent=e.user_agent,
            metadata=JSON(e.meta) if e.meta is not None else None,
            read_state=entry.read_state,
        )


@strawberry.type(name="ActivityListResponse")
class RestActivityList:
    items: list[RestActivityEvent]
    next_cursor: str | None
    unread_count: int


@strawberry.type(name="ActivityReceiptResponse")
class RestActivityReceipt:
    unread_count: int


FeedLimit = Annotated[int, strawberry.argument(metadata=limited(Limit(ge=1, le=200)))]
Text = Annotated[str | None, strawberry.argument(metadata=limited(TEXT))]
EventId = Annotated[str, strawberry.argument(metadata=limited(Limit(max_length=64)))]
LastEventId = Annotated[str | None, strawberry.argument(metadata=limited(Limit(max_length=64, format="uuid")))]


@strawberry.type
class RestQuery:
    @strawberry.field(extensions=READ, description="The tenant's activity, newest first, with the caller's read state.")
    async def activity_feed(
        self,
        info: strawberry.Info,
        limit: FeedLimit = 50,
        cursor: Text = None,
        action: Text = None,
        actor_id: Text = None,
        object_type: Text = None,
        object_id: Text = None,
        status: RestActivityStatus | None = None,
        request_id: Text = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> RestActivityList:
        wanted = r.Filter(
            action=action,
            actor_id=actor_id,
            object_type=object_type,
            object_id=object_id,
            status=status.value if status else None,
            request_id=request_id,
            created_after=created_after,
            created_before=created_before,
        )
        page = await r.feed(info.context, wanted, limit, cursor)
        return RestActivityList(
            items=[RestActivityEvent.from_entry(e) for e in page.items],
            next_cursor=page.next_cursor,
            unread_count=page.unread_count,
        )


@strawberry.type
class RestMutation:
    @strawberry.mutation(extensions=READ, description="Mark one event read for the caller.")
    async def mark_activity_event_read(self, info: strawberry.Info, event_id: EventId) -> RestActivityReceipt:
        await r.mark(info.context, r.event_id(event_id), "read")
        return RestActivityReceipt(unread_count=await r.unread_count(info.context))

    @strawberry.mutation(extensions=READ, description="Dismiss one event for the caller.")
    async def dismiss_activity_event(self, info: strawberry.Info, event_id: EventId) -> RestActivityReceipt:
        await r.mark(info.context, r.event_id(event_id), "dismissed")
        return RestActivityReceipt(unread_count=await r.unread_count(info.context))

    @strawberry.mutation(extensions=READ, description="Mark every event read for the caller (dismissed ones stay so).")
    async def mark_all_activity_events_read(self, info: strawberry.Info) -> RestActivityReceipt:
        return RestActivityReceipt(unread_count=await r.mark_all(info.context))


def _last_event_id(raw: str | None) -> uuid.UUID | None:
    if raw is None or not raw.strip():
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise InvalidInput(
            "Last-Event-ID must be the id of an activity event.",
            details=[{"field": "lastEventId", "type": "uuid_parsing", "message": "Input should be a valid UUID"}],
        ) from None


@strawberry.type
class RestSubscription:
    @strawberry.subscription(
        extensions=READ,
        description="The tenant's activity as it happens; `last_event_id` (Last-Event-ID) first replays what came "
        "after that event.",
    )
    async def activity_stream(
        self, info: strawberry.Info, last_event_id: LastEventId = None
    ) -> AsyncGenerator[RestActivityEvent, None]:
        async for entry in r.stream(info.context, _last_event_id(last_event_id)):
            yield RestActivityEvent.from_entry(entry)


# == The native graph ============================================================================


@strawberry.enum(description="Who acted.")
class ActivityActorType(enum.Enum):
    USER = "user"
    SERVICE_ACCOUNT = "service_account"
    SYSTEM = "system"


@strawberry.enum(description="What an activity event happened to.")
class ActivityObjectType(enum.Enum):
    USER = "user"
    WORKFLOW_RUN = "workflow_run"
    STORAGE_OBJECT = "storage_object"
    SUBSCRIPTION = "subscription"


@strawberry.enum(description="Where an activity event came from.")
class ActivitySource(enum.Enum):
    API = strawberry.enum_value("api", description="A request.")
    SYSTEM = strawberry.enum_value("system", description="The platform's own work.")


@strawberry.enum(description="Whether an activity event succeeded.")
class ActivityStatus(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"


@strawberry.enum(description="An activity event as the caller has seen it.")
class ActivityReadState(enum.Enum):
    UNREAD = "unread"
    READ = "read"
    DISMISSED = "dismissed"


@strawberry.type(
    description="Something that happened in the tenant: a sign-in, a workflow run, a file, a billing change."
)
class ActivityEvent(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The event's id (the REST layer's `id`).")
    action: str = strawberry.field(description="What happened, e.g. `auth.login.success`, `workflow.run.completed`.")
    created_at: datetime = strawberry.field(description="When it happened.")
    actor_id: str | None = strawberry.field(description="Who did it: a user's id, a service account's name.")
    actor_type: ActivityActorType | None = strawberry.field(description="What kind of actor it was.")
    actor_role: str | None = strawberry.field(description="The actor's role in the tenant then.")
    object_type: ActivityObjectType | None = strawberry.field(description="What kind of object it happened to.")
    object_id: str | None = strawberry.field(description="The id of what it happened to.")
    object_name: str | None = strawberry.field(description="Its name for people (a file name, a workflow key).")
    status: ActivityStatus = strawberry.field(description="Whether it succeeded.")
    source: ActivitySource | None = strawberry.field(description="Where it came from.")
    request_id: str | None = strawberry.field(description="The request's correlation id (`X-Correlation-ID`).")
    ip_hash: str | None = strawberry.field(description="SHA-256 of the client's address.")
    user_agent: str | None = strawberry.field(description="The client's user agent.")
    metadata: JSON | None = strawberry.field(description="Details of the action.")
    read_state: ActivityReadState = strawberry.field(description="Whether the caller has read or dismissed it.")

    @classmethod
    def from_entry(cls, entry: r.Entry) -> ActivityEvent:
        e = entry.event
        return cls(
            key=str(e.id),
            database_id=e.id,
            action=e.action,
            created_at=e.created_at,
            actor_id=e.actor_id,
            actor_type=graph.known_member(ActivityActorType, e.actor_type),
            actor_role=e.actor_role,
            object_type=graph.known_member(ActivityObjectType, e.object_type),
            object_id=e.object_id,
            object_name=e.object_name,
            status=ActivityStatus(e.status),
            source=graph.known_member(ActivitySource, e.source),
            request_id=e.request_id,
            ip_hash=e.ip_hash,
            user_agent=e.user_agent,
            metadata=JSON(e.meta) if e.meta is not None else None,
            read_state=ActivityReadState(entry.read_state),
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ActivityEvent | None]:
        entries = await r.entries_by_ids(info.context, graph.uuids(node_ids))
        return [cls.from_entry(e) if e is not None else None for e in entries]


@strawberry.input(description="Which activity events to list (every field given must match).")
class ActivityFilter:
    action: str | None = strawberry.field(default=None, description="Only this action.", metadata=limited(TEXT))
    actor_id: str | None = strawberry.field(default=None, description="Only this actor's.", metadata=limited(TEXT))
    object_type: ActivityObjectType | None = strawberry.field(
        default=None, description="Only about this kind of object."
    )
    object_id: str | None = strawberry.field(
        default=None, description="Only about this object.", metadata=limited(TEXT)
    )
    status: ActivityStatus | None = strawberry.field(default=None, description="Only with this outcome.")
    request_id: str | None = strawberry.field(
        default=None, description="Only of this request (correlation id).", metadata=limited(TEXT)
    )
    created_after: datetime | None = strawberry.field(default=None, description="Only from this moment on.")
    created_before: datetime | None = strawberry.field(default=None, description="Only up to this moment.")
    read_state: ActivityReadState | None = strawberry.field(
        default=None, description="Only in this state for the caller."
    )

    def domain(self) -> r.Filter:
        return r.Filter(
            action=self.action,
            actor_id=self.actor_id,
            object_type=self.object_type.value if self.object_type else None,
            object_id=self.object_id,
            status=self.status.value if self.status else None,
            request_id=self.request_id,
            created_after=self.created_after,
            created_before=self.created_before,
            read_state=self.read_state.value if self.read_state else None,
        )


def _event_key(value: strawberry.ID, field: str) -> uuid.UUID:
    key = graph.node_uuid(value, TYPE_NAME)
    if key is None:
        raise InvalidInput(
            "Not the id of an activity event.", details=[{"field": field, "message": "not an activity event's id"}]
        )
    return key


async def _marked(info: strawberry.Info, value: strawberry.ID, state: str) -> dict[str, Any]:
    try:
        entry = await r.mark(info.context, _event_key(value, "input.id"), state)
    except NotFound as error:
        raise NotFound(error.message, details=[{"field": "input.id", "message": error.message}]) from None
    return {"event": ActivityEvent.from_entry(entry), "unread_count": await r.unread_count(info.context)}


@strawberry.input(description="Mark one activity event read for the caller.")
class MarkActivityReadInput:
    id: strawberry.ID = strawberry.field(description="The event's global id.")


@strawberry.input(description="Dismiss one activity event for the caller.")
class DismissActivityInput:
    id: strawberry.ID = strawberry.field(description="The event's global id.")


@strawberry.input(description="Mark the caller's activity read.")
class MarkAllActivityReadInput:
    before: datetime | None = strawberry.field(
        default=None, description="Only the events up to this moment (now, by default)."
    )


@strawberry.type(description="The event marked read, or why not.")
class MarkActivityReadPayload:
    event: ActivityEvent | None = strawberry.field(default=None, description="The event, now read for the caller.")
    unread_count: int | None = strawberry.field(default=None, description="The caller's unread events after it.")
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


@strawberry.type(description="The event dismissed, or why not.")
class DismissActivityPayload:
    event: ActivityEvent | None = strawberry.field(default=None, description="The event, now dismissed for the caller.")
    unread_count: int | None = strawberry.field(default=None, description="The caller's unread events after it.")
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


@strawberry.type(description="The caller's activity marked read.")
class MarkAllActivityReadPayload:
    unread_count: int | None = strawberry.field(default=None, description="The caller's unread events after it.")
    user_errors: list[graph.UserError] = strawberry.field(description="The mistakes in the input; empty on success.")


@strawberry.type
class Query:
    @strawberry.field(
        extensions=READ,
        description="The activity of the tenant the request acts in, newest first, as the caller sees it.",
    )
    async def activity(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: ActivityFilter | None = None,
    ) -> graph.Connection[ActivityEvent]:
        wanted = filter.domain() if filter else r.Filter()

        async def fetch(offset: int, limit: int) -> Page[r.Entry]:
            return await r.feed_page(info.context, wanted, offset, limit)

        return await graph.paginate(fetch, ActivityEvent.from_entry, first=first, after=after, last=last, before=before)

    @strawberry.field(extensions=READ, description="How many of the tenant's activity events the caller has not read.")
    async def unread_activity_count(self, info: strawberry.Info) -> int:
        return await r.unread_count(info.context)


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=READ, description="Mark one activity event read for the caller.")
    async def mark_activity_read(self, info: strawberry.Info, input: MarkActivityReadInput) -> MarkActivityReadPayload:
        return await graph.payload(MarkActivityReadPayload, _marked(info, input.id, "read"))

    @strawberry.mutation(extensions=READ, description="Dismiss one activity event for the caller.")
    async def dismiss_activity(self, info: strawberry.Info, input: DismissActivityInput) -> DismissActivityPayload:
        return await graph.payload(DismissActivityPayload, _marked(info, input.id, "dismissed"))

    @strawberry.mutation(
        extensions=READ,
        description="Mark the caller's activity read (what it dismissed stays dismissed; other readers are not affected).",
    )
    async def mark_all_activity_read(
        self, info: strawberry.Info, input: MarkAllActivityReadInput | None = None
    ) -> MarkAllActivityReadPayload:
        async def action() -> dict[str, Any]:
            return {"unread_count": await r.mark_all(info.context, input.before if input else None)}

        return await graph.payload(MarkAllActivityReadPayload, action())


@strawberry.type
class Subscription:
    @strawberry.subscription(
        extensions=READ,
        description="The tenant's activity as it happens. `after` (an event's id) first replays the events recorded "
        f"after that one (at most {r.REPLAY_MAX}), so a client that lost its connection misses nothing.",
    )
    async def activity_events(
        self, info: strawberry.Info, after: strawberry.ID | None = None
    ) -> AsyncGenerator[ActivityEvent, None]:
        anchor = _event_key(after, "after") if after is not None else None
        async for entry in r.stream(info.context, anchor):
            yield ActivityEvent.from_entry(entry)
