from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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

    @classmethod
    def from_stored(cls, contact: dict[str, Any]) -> BillingContact:
        """A contact as `updateTenantSettings` stored it."""
        return cls(
            name=contact["name"],
            email=contact["email"],
            role=contact.get("role"),
            phone=contact.get("phone"),
            notify_billing=contact.get("notify_billing", True),
        )


@strawberry.type(description="Per-tenant settings; `version` is the optimistic-concurrency token.")
class TenantSettings:
    tenant_id: uuid.UUID
    billing_contacts: list[BillingContact]
    billing_webhook_url: str | None
    plan_metadata: JSON
    flags: JSON
    version: int
    updated_at: datetime | None

    @classmethod
    def from_settings(cls, settings: r.Settings) -> TenantSettings:
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
    billing_webhook_url: str | None = None


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(TenantRole("admin")), description="The caller's tenant settings.")
    async def tenant_settings(self, info: strawberry.Info) -> TenantSettings:
        return TenantSettings.from_settings(await r.get_settings(info.context))


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
        return TenantSettings.from_settings(
            await r.update_settings(
                info.context, if_match, contacts, input.billing_webhook_url, input.plan_metadata, input.flags
            )
        )
