"""The caller's tenant in the graph (`tenant`, its settings; members are on `Tenant`, in
auth.py) and the settings write. `RestQuery`/`RestMutation` keep the legacy settings shape
(JSON maps, `ifMatch`) the REST routes run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from agentdeck.domain.identity import tenants as r
from agentdeck.errors import Conflict, InvalidInput
from agentdeck.schema import graph
from agentdeck.schema.auth import Tenant, payload
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Authenticated, TenantRole, allow
from agentdeck.schema.tenant_settings import BillingContact, TenantSettings


@strawberry.type(
    name="TenantSettings", description="Per-tenant settings; `version` is the optimistic-concurrency token."
)
class RestTenantSettings:
    tenant_id: uuid.UUID
    billing_contacts: list[BillingContact]
    billing_webhook_url: str | None
    plan_metadata: JSON
    flags: JSON
    version: int
    updated_at: datetime | None

    @classmethod
    def from_settings(cls, settings: r.Settings) -> RestTenantSettings:
        row = settings.row
        if row is None:  # never written: the defaults, at version 0
            return cls(
                tenant_id=settings.tenant_id,
                billing_contacts=[],
                billing_webhook_url=None,
                plan_metadata=JSON({}),
                flags=JSON({}),
                version=0,
                updated_at=None,
            )
        contacts = [BillingContact.from_stored(c) for c in row.billing_contacts]
        return cls(
            tenant_id=settings.tenant_id,
            billing_contacts=contacts,
            billing_webhook_url=row.billing_webhook_url,
            plan_metadata=JSON(dict(row.plan_metadata)),
            flags=JSON(dict(row.flags)),
            version=row.version,
            updated_at=row.updated_at,
        )


@strawberry.input
class BillingContactInput:
    name: str
    email: str
    role: str | None = None
    phone: str | None = None
    notify_billing: bool = True


@strawberry.input
class TenantSettingsInput:
    billing_contacts: list[BillingContactInput]
    plan_metadata: JSON
    flags: JSON
    billing_webhook_url: str | None = strawberry.field(default=None, metadata=limited(r.WEBHOOK_URL))


@strawberry.input(description="A plan metadata entry.")
class PlanMetadataEntryInput:
    key: str = strawberry.field(description="The entry's name (once per write).")
    value: str = strawberry.field(description="Its value.")


@strawberry.input(description="A feature flag.")
class TenantFlagInput:
    key: str = strawberry.field(description="The flag's name (once per write).")
    enabled: bool = strawberry.field(description="Whether it is on.")


@strawberry.input(description="The tenant's settings, replaced as a whole.")
class UpdateTenantSettingsInput:
    expected_version: int = strawberry.field(
        description="The `version` read: the write is refused (a CONFLICT user error) if someone wrote since."
    )
    billing_contacts: list[BillingContactInput] = strawberry.field(description="At most 20.")
    billing_webhook_url: str | None = strawberry.field(
        default=None, description="An https URL that resolves to public addresses only."
    )
    plan_metadata: list[PlanMetadataEntryInput] = strawberry.field(description="At most 100 distinct keys.")
    flags: list[TenantFlagInput] = strawberry.field(description="At most 100 distinct keys.")


@strawberry.type(description="The result of `updateTenantSettings`.")
class UpdateTenantSettingsPayload:
    settings: TenantSettings | None = strawberry.field(default=None, description="The settings as written.")
    user_errors: list[graph.UserError]


def _as_map(entries: list[Any], field: str, value: str) -> dict[str, Any]:
    """Entries as the stored map; a key given twice is an input mistake."""
    out: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        if entry.key in out:
            raise InvalidInput(
                f"Key {entry.key!r} is given twice.",
                details=[{"field": f"input.{field}.{i}.key", "message": "a key given twice"}],
            )
        out[entry.key] = getattr(entry, value)
    return out


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(Authenticated()), description="The tenant the caller's token acts in.")
    async def tenant(self, info: strawberry.Info) -> Tenant:
        return Tenant.from_row(await r.current_tenant(info.context))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=allow(TenantRole("admin")), description="Replace the tenant's settings.")
    async def update_tenant_settings(
        self, info: strawberry.Info, input: UpdateTenantSettingsInput
    ) -> UpdateTenantSettingsPayload:
        async def action() -> dict[str, Any]:
            written = await r.update_settings_at(
                info.context,
                input.expected_version,
                [r.BillingContact(**vars(c)) for c in input.billing_contacts],
                input.billing_webhook_url,
                _as_map(input.plan_metadata, "plan_metadata", "value"),
                _as_map(input.flags, "flags", "enabled"),
            )
            return {"settings": TenantSettings.from_settings(written)}

        return await payload(UpdateTenantSettingsPayload, action(), {Conflict: ["input", "expectedVersion"]})


# -- the legacy REST shapes (the routes run these) ---------------------------------------------


@strawberry.type
class RestQuery:
    @strawberry.field(extensions=allow(TenantRole("admin")), description="The caller's tenant settings.")
    async def tenant_settings(self, info: strawberry.Info) -> RestTenantSettings:
        return RestTenantSettings.from_settings(await r.get_settings(info.context))


@strawberry.type
class RestMutation:
    @strawberry.mutation(
        extensions=allow(TenantRole("admin")),
        description='Replace the tenant settings; `ifMatch` is the version read, e.g. "3".',
    )
    async def update_tenant_settings(
        self, info: strawberry.Info, input: TenantSettingsInput, if_match: str | None = None
    ) -> RestTenantSettings:
        contacts = [r.BillingContact(**vars(c)) for c in input.billing_contacts]
        return RestTenantSettings.from_settings(
            await r.update_settings(
                info.context, if_match, contacts, input.billing_webhook_url, input.plan_metadata, input.flags
            )
        )
