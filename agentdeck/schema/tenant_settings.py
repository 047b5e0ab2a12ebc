"""A tenant's settings as the graph shows them (`Tenant.settings`, `updateTenantSettings`); the
REST face's legacy shape is in tenants.py. Its own module: auth.py (Tenant) and tenants.py (the
write) both use these types, and neither may import the other's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from agentdeck.domain.identity import tenants as r


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


@strawberry.type(description="A plan metadata entry: a string value under a key.")
class PlanMetadataEntry:
    key: str = strawberry.field(description="The entry's name.")
    value: str = strawberry.field(description="Its value.")


@strawberry.type(description="A feature flag of the tenant.")
class TenantFlag:
    key: str = strawberry.field(description='The flag\'s name, e.g. "feature.billing".')
    enabled: bool = strawberry.field(description="Whether it is on.")


@strawberry.type(description="A tenant's settings. `version` counts the writes: a write names the version it read.")
class TenantSettings:
    billing_contacts: list[BillingContact] = strawberry.field(description="Who hears about billing.")
    billing_webhook_url: str | None = strawberry.field(description="Where billing events are posted (https).")
    plan_metadata: list[PlanMetadataEntry] = strawberry.field(description="Free-form entries about the plan.")
    flags: list[TenantFlag] = strawberry.field(description="The tenant's feature flags.")
    version: int = strawberry.field(description="0 while never written; each write adds one.")
    updated_at: datetime | None = strawberry.field(description="When last written; null while never written.")

    @classmethod
    def from_settings(cls, settings: r.Settings) -> TenantSettings:
        row = settings.row
        if row is None:  # never written: the defaults, at version 0
            return cls(
                billing_contacts=[], billing_webhook_url=None, plan_metadata=[], flags=[], version=0, updated_at=None
            )
        return cls(
            billing_contacts=[BillingContact.from_stored(c) for c in row.billing_contacts],
            billing_webhook_url=row.billing_webhook_url,
            plan_metadata=[PlanMetadataEntry(key=k, value=v) for k, v in dict(row.plan_metadata).items()],
            flags=[TenantFlag(key=k, enabled=v) for k, v in dict(row.flags).items()],
            version=row.version,
            updated_at=row.updated_at,
        )
