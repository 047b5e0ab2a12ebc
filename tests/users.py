"""Helpers for tests that need signed-in users."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

PASSWORD = "Correct-Horse-42-battery"


@dataclass
class Account:
    email: str
    password: str
    tenant_id: str
    user_id: str
    access_token: str
    refresh_token: str
    session_id: str


def run_sql(server, statement: str, params: dict | None = None) -> list[tuple]:
    """Reach into a server's database (to expire a token, say): tests only."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> list[tuple]:
        engine = create_async_engine(server.env["AGENTDECK_DATABASE_URL"])
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement), params or {})
                return [tuple(row) for row in result.fetchall()] if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def mark_email_verified(server, user_id: str) -> None:
    """Test shortcut past the mail round trip (which test_auth_account covers end to end)."""
    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import create_async_engine

    from agentdeck.db.models import User

    async def run() -> None:
        engine = create_async_engine(server.env["AGENTDECK_DATABASE_URL"])
        async with engine.begin() as conn:
            await conn.execute(
                update(User).where(User.id == uuid.UUID(user_id)).values(email_verified_at=datetime.now(UTC))
            )
        await engine.dispose()

    asyncio.run(run())


def login(server, email: str, password: str = PASSWORD) -> dict:
    r = server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def register(server, email: str | None = None, tenant_name: str = "Acme Test", verified: bool = False) -> Account:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    r = server.rest(
        "POST",
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "tenant_name": tenant_name,
            "accept_terms": True,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    if verified:
        mark_email_verified(server, body["user_id"])
        body = login(server, email)
    return Account(
        email,
        PASSWORD,
        body["tenant_id"],
        body["user_id"],
        body["access_token"],
        body["refresh_token"],
        body["session_id"],
    )
