"""Who may use billing: tenant roles, the billing features (NOTES §9.4) and the path's tenant."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import select

from agentdeck.context import Context
from agentdeck.db.models import TenantSettings
from agentdeck.domain.common.access import TenantContext, require_role
from agentdeck.errors import Forbidden

Feature = Literal["billing", "billing_stream"]


async def feature_enabled(ctx: Context, feature: Feature) -> bool:
    settings = ctx.settings
    if not settings.enable_billing or (feature == "billing_stream" and not settings.enable_billing_stream):
        return False
    async with ctx.session() as s:
        flags = await s.scalar(select(TenantSettings.flags)) or {}
    wanted = ("feature.billing",) if feature == "billing" else ("feature.billing", "feature.billing_stream")
    return all(flags.get(flag) is not False for flag in wanted)


async def billing_tenant(
    ctx: Context, tenant_id: str | None, minimum: str = "viewer", feature: Feature = "billing"
) -> TenantContext:
    """The caller's tenant context, refused unless the path names that tenant and the feature is on."""
    tc = await require_role(ctx, minimum)
    if tenant_id is not None and _as_uuid(tenant_id) != tc.tenant_id:
        raise Forbidden("Tenant mismatch between request and credentials.")
    if not await feature_enabled(ctx, feature):
        raise Forbidden(f"{feature} feature is disabled for this tenant.")
    return tc


def _as_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
