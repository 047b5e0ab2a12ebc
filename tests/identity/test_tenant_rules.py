"""Tenant rules, in-process (tests/inprocess.py): domain/identity/tenants.py and
service_accounts.py, with the role order of domain/common/access.py.

- tenant settings are for admins and owners only, and each tenant reads its own;
- writes are compare-and-set on the version: no precondition, a malformed one, or a stale one
  is refused, and every accepted write moves the version by one;
- a tenant admin mints service-account tokens for tenant-bound accounts of their own tenant
  only, with scopes from the catalog (listed in catalog order) and at most the catalog's
  lifetime; they list and revoke their own tenant's tokens, and another tenant's look unknown.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from agentdeck.context import Context
from agentdeck.db.models import Tenant
from agentdeck.domain.identity import service_accounts as sa
from agentdeck.domain.identity.tenants import BillingContact, get_settings, update_settings
from agentdeck.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound, PreconditionRequired
from tests.inprocess import platform, tenant_member

CONTACT = BillingContact(name="Accounts", email="accounts@example.com")


async def test_tenant_settings_are_for_admins_and_each_write_moves_the_version_by_one(tmp_path):
    async with platform(tmp_path) as services:
        for role in ("viewer", "member"):
            with pytest.raises(Forbidden, match="Insufficient tenant privileges"):
                await get_settings(await tenant_member(services, role=role))
        admin, other = await tenant_member(services, role="admin"), await tenant_member(services, role="owner")
        assert (await get_settings(admin)).row is None  # version 0: never written

        async def write(ctx, if_match, flags=None):
            return await update_settings(ctx, if_match, [CONTACT], None, {"tier": "gold"}, flags or {})

        with pytest.raises(PreconditionRequired):
            await write(admin, None)
        with pytest.raises(BadRequest, match="quoted version"):
            await write(admin, '"v1"')
        assert (await write(admin, '"0"')).row.version == 1
        with pytest.raises(Conflict):
            await write(admin, '"0"')  # someone read before the first write
        assert (await write(admin, 'W/"1"', {"beta": True})).row.version == 2
        with pytest.raises(Conflict):
            await write(admin, '"1"')
        with pytest.raises(InvalidInput) as bad:
            await update_settings(admin, '"2"', [BillingContact("", "nope")], None, {"n": 1}, {})
        assert [d["field"] for d in bad.value.details] == [
            "input.billing_contacts.0.name",
            "input.billing_contacts.0.email",
            "input.plan_metadata",
        ]

        mine = (await get_settings(admin)).row
        assert (mine.version, mine.flags, mine.billing_contacts[0]["email"]) == (2, {"beta": True}, CONTACT.email)
        assert (await get_settings(other)).row is None  # another tenant's settings are its own
        assert (await write(other, '"0"')).row.version == 1


async def test_a_tenant_admin_mints_lists_and_revokes_tokens_of_their_own_tenant_only(tmp_path):
    async with platform(tmp_path) as services:
        admin_a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        admin_b = await tenant_member(services, role="owner", tenant_name="Tenant B")
        tenant_a, tenant_b = admin_a.principal.tenant_id, admin_b.principal.tenant_id

        def ask(account, scopes, tenant_id=None, minutes=None):
            return sa.IssueRequest(account=account, scopes=scopes, tenant_id=tenant_id, lifetime_minutes=minutes)

        minted = await sa.browser_issue(admin_a, ask("billing-worker", ["activity:read", "billing:read"]), "tests")
        assert minted.row.tenant_id == tenant_a  # the admin's own tenant is implied
        assert minted.row.scopes == "billing:read activity:read"  # catalog order
        capped = await sa.browser_issue(admin_a, ask("analytics-batch", ["conversations:read"], None, 10**7), "t")
        assert capped.row.expires_at - capped.row.issued_at == timedelta(days=30)

        with pytest.raises(Forbidden, match="own tenant"):
            await sa.browser_issue(admin_a, ask("analytics-batch", ["conversations:read"], str(tenant_b)), "t")
        with pytest.raises(Forbidden, match="Only operators"):
            await sa.browser_issue(admin_a, ask("support-console", ["activity:read"]), "t")
        with pytest.raises(BadRequest, match="Scopes not allowed for 'analytics-batch': billing:manage"):
            await sa.browser_issue(admin_a, ask("analytics-batch", ["conversations:read", "billing:manage"]), "t")
        with pytest.raises(Forbidden):
            await sa.browser_issue(await tenant_member(services, role="member"), ask("demo-bot", ["chat:write"]), "t")

        async def listed(ctx, status="all"):
            page = await sa.list_tokens(
                ctx,
                account=None,
                fingerprint=None,
                status=status,
                tenant_id=None,
                include_global=False,
                limit=50,
                offset=0,
            )
            return sorted(row.jti for row in page.items), page.total

        assert await listed(admin_a) == (sorted([minted.row.jti, capped.row.jti]), 2)
        assert await listed(admin_b) == ([], 0)
        with pytest.raises(NotFound):
            await sa.revoke(admin_b, minted.row.jti, "not mine")
        assert (await sa.revoke(admin_a, minted.row.jti, "rotated")).data == minted.row.jti
        assert await listed(admin_a, "revoked") == ([minted.row.jti], 1)
        assert await listed(admin_a, "active") == ([capped.row.jti], 1)


async def test_a_tenant_suspended_in_the_database_is_refused_within_the_cache_time(tmp_path):
    """Tenant rows are cached per process (auth/tenancy.TenantRows) for AGENTDECK_TENANT_CACHE_SECONDS."""
    async with platform(tmp_path, tenant_cache_seconds=0.3) as services:
        member = await tenant_member(services)
        tenant_id = (await member.tenant_context()).tenant_id
        async with services.db.platform_session() as s:
            await s.execute(update(Tenant).where(Tenant.id == tenant_id).values(status="suspended"))
            await s.commit()
        again = Context(services=services, principal=member.principal)
        assert (await again.tenant_context()).tenant_id == tenant_id  # within the cache time
        await asyncio.sleep(0.35)
        with pytest.raises(Forbidden, match="Tenant account is suspended"):
            await Context(services=services, principal=member.principal).tenant_context()
