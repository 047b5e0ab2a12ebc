from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.domain.identity import tenants as r
from agentdeck.schema.permissions import TenantRole, allow


@strawberry.type
class BillingContact:
    name: str
    email: str
    role: str | None
    phone: str | None
    notify_billing: bool


@strawberry.type(description="Per-tenant settings; `version` is the optimistic-concurrency token.")
class TenantSettings:
    tenant_id: uuid.UUID
    billing_contacts: list[BillingContact]
    billing_webhook_url: str | None
    plan_metadata: JSON
    flags: JSON
    version: int
    updated_at: datetime | None


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
    billing_webhook_url: str | None = None


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(TenantRole("admin")), description="The caller's tenant settings.")
    async def tenant_settings(self, info: strawberry.Info) -> TenantSettings:
        return await r.get_settings(info.context)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=allow(TenantRole("admin")),
        description='Replace the tenant settings; `ifMatch` is the version read, e.g. "3".',
    )
    async def update_tenant_settings(
        self, info: strawberry.Info, input: TenantSettingsInput, if_match: str | None = None
    ) -> TenantSettings:
        contacts = [r.BillingContact(**vars(c)) for c in input.billing_contacts]
        return await r.update_settings(  # type: ignore[return-value]
            info.context, if_match, contacts, input.billing_webhook_url, input.plan_metadata, input.flags
        )
