"""The caller's consents and notification preferences (`me { consents notificationPreferences }`,
`recordConsent`, `updateNotificationPreferences`) and client log ingestion (`submitClientLogs`).

The rules are `domain/identity/preferences.py` and `domain/identity/client_logs.py`; the legacy
REST shapes (`ConsentView`, `NotificationPreferenceView`, one log entry per request) are the
`Rest*` roots' types.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db.models import NotificationPreference as PreferenceRow
from agentdeck.db.models import UserConsent
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.identity import client_logs
from agentdeck.domain.identity import preferences as prefs
from agentdeck.schema import graph
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Authenticated, TenantRole, allow

# -- enums -------------------------------------------------------------------------------------


@strawberry.enum(description="How a notice reaches a user. The platform mails; the other channels are the client's.")
class NotificationChannel(Enum):
    EMAIL = "email"
    SMS = "sms"
    IN_APP = "in_app"


@strawberry.enum(description="What a notice is about.")
class NotificationCategory(Enum):
    SECURITY = strawberry.enum_value(
        "security", description="Verification links, password resets: always sent, cannot be turned off."
    )
    ACCOUNT = strawberry.enum_value(
        "account", description="Answers to what the user just asked for (a confirmation): always sent."
    )
    STATUS_ALERTS = strawberry.enum_value("status_alerts", description="Incident alerts of status subscriptions.")
    BILLING = strawberry.enum_value("billing", description="Billing notices.")
    PRODUCT_UPDATES = strawberry.enum_value("product_updates", description="News about the product.")
    MARKETING = strawberry.enum_value("marketing", description="Offers and newsletters.")


@strawberry.enum(description="The level of a client log entry; the server's line takes the same level.")
class ClientLogLevel(Enum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# -- node types --------------------------------------------------------------------------------


@strawberry.type(name="Consent", description="The acceptance of one version of a policy (never changed afterwards).")
class Consent(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The acceptance's UUID.")
    policy_key: str = strawberry.field(description='The policy, e.g. "terms_of_service".')
    version: str = strawberry.field(description="The version accepted.")
    accepted_at: datetime = strawberry.field(description="When it was accepted (first recorded).")

    @classmethod
    def from_row(cls, row: UserConsent) -> Consent:
        return cls(
            key=str(row.id),
            database_id=row.id,
            policy_key=row.policy_key,
            version=row.version,
            accepted_at=row.accepted_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Consent | None]:
        ids = graph.uuids(node_ids)
        wanted = [i for i in ids if i is not None]
        rows = dict(zip(wanted, await prefs.consents_by_ids(info.context, wanted), strict=True))
        return [cls.from_row(row) if i is not None and (row := rows.get(i)) else None for i in ids]


@strawberry.type(
    name="NotificationPreference",
    description="Whether the user wants one category of notice on one channel, in the tenant of the request.",
)
class NotificationPreference(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The preference's UUID (the REST API's `id`).")
    channel: NotificationChannel
    category: NotificationCategory
    enabled: bool = strawberry.field(description="False: the platform does not send these notices.")
    updated_at: datetime = strawberry.field(description="When it was last set.")

    @classmethod
    def from_row(cls, row: PreferenceRow) -> NotificationPreference:
        return cls(
            key=str(row.id),
            database_id=row.id,
            channel=NotificationChannel(row.channel),
            category=NotificationCategory(row.category),
            enabled=row.enabled,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[NotificationPreference | None]:
        ids = graph.uuids(node_ids)
        wanted = [i for i in ids if i is not None]
        rows = dict(zip(wanted, await prefs.preferences_by_ids(info.context, wanted), strict=True))
        return [cls.from_row(row) if i is not None and (row := rows.get(i)) else None for i in ids]


async def consents_of(info: strawberry.Info, first: int | None, after: str | None) -> graph.Connection[Consent]:
    """`User.consents` (schema/auth.py): the caller's acceptances, newest first."""
    ctx = info.context
    return await graph.paginate(
        lambda offset, limit: prefs.list_consents(ctx, offset, limit), Consent.from_row, first=first, after=after
    )


async def preferences_of(info: strawberry.Info) -> graph.Connection[NotificationPreference]:
    """`User.notificationPreferences` (schema/auth.py): at most one per channel and category."""
    rows = await prefs.list_preferences(info.context)
    return graph.connection_of([NotificationPreference.from_row(row) for row in rows])


# -- native mutations --------------------------------------------------------------------------


@strawberry.input(description="A policy version the caller accepts.")
class RecordConsentInput:
    policy_key: str = strawberry.field(
        description='The policy, e.g. "terms_of_service".', metadata=limited(prefs.POLICY_KEY)
    )
    version: str = strawberry.field(description="The version accepted.", metadata=limited(prefs.POLICY_VERSION))
    ip_hash: str | None = strawberry.field(
        default=None, description="A hash of the client's address, if the client keeps one.",
        metadata=limited(prefs.CLIENT_HASH),
    )  # fmt: skip
    user_agent_hash: str | None = strawberry.field(
        default=None, description="A hash of the client's user agent.", metadata=limited(prefs.CLIENT_HASH)
    )


@strawberry.type(description="The result of `recordConsent`.")
class RecordConsentPayload:
    consent: Consent | None = strawberry.field(
        default=None, description="The acceptance kept: the earlier one when this version was accepted before."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="Whether to send one category of notice on one channel.")
class NotificationPreferenceInput:
    channel: NotificationChannel
    category: NotificationCategory
    enabled: bool = strawberry.field(default=True, description="False turns the notices off (not SECURITY, ACCOUNT).")


@strawberry.input(description="Preferences to set, in the tenant of the request; the others stay as they are.")
class UpdateNotificationPreferencesInput:
    preferences: list[NotificationPreferenceInput] = strawberry.field(
        description=f"1 to {prefs.MAX_PREFERENCES}, each channel and category once.",
        metadata=limited(Limit(min_length=1, max_length=prefs.MAX_PREFERENCES)),
    )


@strawberry.type(description="The result of `updateNotificationPreferences`.")
class UpdateNotificationPreferencesPayload:
    notification_preferences: list[NotificationPreference] | None = strawberry.field(
        default=None, description="The preferences set, in the order given."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="One line of the client's log.")
class ClientLogEntryInput:
    event: str = strawberry.field(description='What happened, e.g. "ui.click".', metadata=limited(client_logs.EVENT))
    level: ClientLogLevel = ClientLogLevel.INFO
    message: str | None = strawberry.field(default=None, metadata=limited(client_logs.MESSAGE))
    scope: str | None = strawberry.field(
        default=None, description="Where in the client, e.g. a page.", metadata=limited(client_logs.SCOPE)
    )
    timestamp: str | None = strawberry.field(
        default=None, description="The client's time, as it gives it.", metadata=limited(client_logs.TIMESTAMP)
    )
    fields: JSON | None = strawberry.field(
        default=None,
        description=f"More facts: an object of at most {client_logs.MAX_FIELDS} keys "
        f"(`level` and `message` are dropped), nested at most {client_logs.MAX_DEPTH} levels.",
    )

    def entry(self) -> client_logs.ClientLogEntry:
        return client_logs.ClientLogEntry(
            event=self.event,
            level=self.level.value,
            message=self.message,
            scope=self.scope,
            timestamp=self.timestamp,
            fields=self.fields if self.fields is not None else {},
        )


@strawberry.input(description="Client log entries for the server's log (never shown back).")
class SubmitClientLogsInput:
    entries: list[ClientLogEntryInput] = strawberry.field(
        description=f"1 to {client_logs.MAX_ENTRIES} entries, together at most `AGENTDECK_CLIENT_LOG_MAX_BYTES` "
        "as JSON (else a TOO_LARGE user error).",
        metadata=limited(Limit(min_length=1, max_length=client_logs.MAX_ENTRIES)),
    )


@strawberry.type(description="The result of `submitClientLogs`.")
class SubmitClientLogsPayload:
    accepted_count: int | None = strawberry.field(default=None, description="How many entries were logged.")
    user_errors: list[graph.UserError]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Record that the caller accepted a version of a policy (append-only; again is a no-op).",
        extensions=allow(Authenticated()),
    )
    async def record_consent(self, info: strawberry.Info, input: RecordConsentInput) -> RecordConsentPayload:
        async def action() -> dict[str, Any]:
            row = await prefs.record_consent(
                info.context, input.policy_key, input.version, input.ip_hash, input.user_agent_hash
            )
            return {"consent": Consent.from_row(row)}

        return await graph.payload(RecordConsentPayload, action())

    @strawberry.mutation(
        description="Set which optional notices the caller wants, in the tenant of the request.",
        extensions=allow(TenantRole("viewer")),
    )
    async def update_notification_preferences(
        self, info: strawberry.Info, input: UpdateNotificationPreferencesInput
    ) -> UpdateNotificationPreferencesPayload:
        async def action() -> dict[str, Any]:
            changes = [
                prefs.PreferenceChange(p.channel.value, str(p.category.value), p.enabled) for p in input.preferences
            ]
            rows = await prefs.update_preferences(info.context, changes, field="input.preferences")
            return {"notification_preferences": [NotificationPreference.from_row(row) for row in rows]}

        return await graph.payload(UpdateNotificationPreferencesPayload, action())

    @strawberry.mutation(
        description="Write the caller's client log entries to the server's log (rate limited: then RATE_LIMITED).",
        extensions=allow(Authenticated()),
    )
    async def submit_client_logs(self, info: strawberry.Info, input: SubmitClientLogsInput) -> SubmitClientLogsPayload:
        async def action() -> dict[str, Any]:
            count = await client_logs.submit(info.context, [e.entry() for e in input.entries])
            return {"accepted_count": count}

        return await graph.payload(SubmitClientLogsPayload, action())


# -- the legacy REST shapes (the routes run these) ---------------------------------------------


@strawberry.type(description="One acceptance of a policy version.")
class ConsentView:
    policy_key: str
    version: str
    accepted_at: datetime

    @classmethod
    def from_row(cls, row: UserConsent) -> ConsentView:
        return cls(policy_key=row.policy_key, version=row.version, accepted_at=row.accepted_at)


@strawberry.input
class ConsentRequest:
    policy_key: str = strawberry.field(metadata=limited(prefs.POLICY_KEY))
    version: str = strawberry.field(metadata=limited(prefs.POLICY_VERSION))
    ip_hash: str | None = strawberry.field(default=None, metadata=limited(prefs.CLIENT_HASH))
    user_agent_hash: str | None = strawberry.field(default=None, metadata=limited(prefs.CLIENT_HASH))


@strawberry.type(description="A notification preference in the legacy shape.")
class NotificationPreferenceView:
    id: uuid.UUID
    channel: str
    category: str
    enabled: bool
    tenant_id: uuid.UUID | None

    @classmethod
    def from_row(cls, row: PreferenceRow) -> NotificationPreferenceView:
        return cls(id=row.id, channel=row.channel, category=row.category, enabled=row.enabled, tenant_id=row.tenant_id)


@strawberry.input
class NotificationPreferenceRequest:
    channel: str = strawberry.field(metadata=limited(prefs.CHANNEL))
    category: str = strawberry.field(metadata=limited(prefs.CATEGORY))
    enabled: bool = True
    tenant_id: uuid.UUID | None = None


@strawberry.input
class FrontendLogPayload:
    event: str = strawberry.field(metadata=limited(client_logs.EVENT))
    scope: str | None = strawberry.field(default=None, metadata=limited(client_logs.SCOPE))
    level: str = strawberry.field(default="info", metadata=limited(client_logs.LEVEL))
    message: str | None = strawberry.field(default=None, metadata=limited(client_logs.MESSAGE))
    timestamp: str | None = strawberry.field(default=None, metadata=limited(client_logs.TIMESTAMP))
    fields: JSON | None = None


@strawberry.type(description="A recorded acceptance, in the legacy envelope; `data` is always null.")
class ConsentRecorded:
    message: str
    data: None = None


@strawberry.type(description="Whether a log entry was taken; nothing of it is answered back.")
class FrontendLogIngestResponse:
    accepted: bool = True


@strawberry.type
class RestQuery:
    @strawberry.field(
        description=f"The caller's newest {prefs.LEGACY_LIST_LIMIT} policy acceptances, newest first.",
        extensions=allow(Authenticated()),
    )
    async def user_consents(self, info: strawberry.Info) -> list[ConsentView]:
        page = await prefs.list_consents(info.context, 0, prefs.LEGACY_LIST_LIMIT)
        return [ConsentView.from_row(row) for row in page.items]

    @strawberry.field(
        description="The caller's notification preferences in the tenant of the request.",
        extensions=allow(TenantRole("viewer")),
    )
    async def user_notification_preferences(self, info: strawberry.Info) -> list[NotificationPreferenceView]:
        return [NotificationPreferenceView.from_row(row) for row in await prefs.list_preferences(info.context)]


@strawberry.type
class RestMutation:
    @strawberry.mutation(description="Record a policy acceptance.", extensions=allow(Authenticated()))
    async def record_consent(self, info: strawberry.Info, input: ConsentRequest) -> ConsentRecorded:
        await prefs.record_consent(info.context, input.policy_key, input.version, input.ip_hash, input.user_agent_hash)
        return ConsentRecorded(message="Consent recorded.")

    @strawberry.mutation(
        description="Set one notification preference in the tenant of the request.",
        extensions=allow(TenantRole("viewer")),
    )
    async def upsert_notification_preference(
        self, info: strawberry.Info, input: NotificationPreferenceRequest
    ) -> NotificationPreferenceView:
        change = prefs.PreferenceChange(input.channel, input.category, input.enabled)
        rows = await prefs.update_preferences(info.context, [change], input.tenant_id)
        return NotificationPreferenceView.from_row(rows[0])

    @strawberry.mutation(
        description="Write one client log entry to the server's log.", extensions=allow(Authenticated())
    )
    async def submit_client_log(self, info: strawberry.Info, input: FrontendLogPayload) -> FrontendLogIngestResponse:
        entry = client_logs.ClientLogEntry(
            event=input.event,
            level=input.level,
            message=input.message,
            scope=input.scope,
            timestamp=input.timestamp,
            fields=input.fields if input.fields is not None else {},
        )
        await client_logs.submit(info.context, [entry], field="input")
        return FrontendLogIngestResponse(accepted=True)
