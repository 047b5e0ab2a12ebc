"""Domain rules tested in-process: the platform's `Services` on a fresh migrated SQLite database
and a `Context` per caller, with no server and no HTTP in between. For rules that do not depend
on a transport; what a client sees is tested through the real servers (`tests/harness.py`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.requests import Request

from agentdeck.app import add_workers
from agentdeck.auth.tenancy import Principal
from agentdeck.context import Context, Services, authenticate
from agentdeck.db.models.identity import User
from agentdeck.domain.identity.admin import add_tenant
from agentdeck.domain.identity.auth import scopes_for
from agentdeck.settings import Settings
from tests.harness import migrated_sqlite


@asynccontextmanager
async def platform(tmp: Path, **settings: Any) -> AsyncIterator[Services]:
    """The services of one process (workers added, not started: no background tasks)."""
    migrated_sqlite(tmp / "agentdeck.db")
    services = Services(
        Settings(
            var_dir=tmp,
            database_url=f"sqlite+aiosqlite:///{tmp / 'agentdeck.db'}",
            password_hash_time_cost=2,
            password_hash_memory_kib=19_456,
            password_hash_parallelism=1,
            **settings,
        )
    )
    add_workers(services)
    try:
        yield services
    finally:
        await services.close()


async def tenant_member(services: Services, role: str = "owner", tenant_name: str = "Acme") -> Context:
    """A new tenant, and the context of a verified user holding `role` in it, with the scopes a
    sign-in would grant."""
    async with services.db.platform_session() as s:
        user = User(email=f"user-{uuid.uuid4().hex[:10]}@example.com", password_hash="unused")
        s.add(user)
        await s.flush()
        tenant, membership = await add_tenant(s, tenant_name, user)
        membership.role = role
        await s.commit()
    principal = Principal(
        subject=f"user:{user.id}",
        scopes=frozenset(scopes_for(role, user)),
        tenant_id=tenant.id,
        roles=(role,),
        claims={"email_verified": True},
    )
    return Context(services=services, principal=principal)


def client(services: Services, address: str | None = None) -> Context:
    """An anonymous caller, from client `address` when given (sign-in, registration, resets)."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "client": (address, 40000)}
    return Context(services=services, request=Request(scope) if address else None)


async def bearer(services: Services, access_token: str, address: str | None = None) -> Context:
    """The caller presenting `access_token`, authenticated as a server does it
    (`context.authenticate`: signature, expiry, revoked sessions)."""
    ctx = client(services, address)
    ctx.principal = await authenticate(services, None, access_token)
    return ctx
