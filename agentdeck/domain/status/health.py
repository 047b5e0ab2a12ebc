"""Liveness, readiness, storage health, the service root, and platform notices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from agentdeck import __version__
from agentdeck.context import Context
from agentdeck.errors import InvalidInput, Unavailable

NOTICES_CHANNEL = "platform:notices"
PROBE_TIMEOUT_S = 2.0


@dataclass
class Health:
    status: str
    timestamp: str
    version: str
    uptime: float | None


@dataclass
class ServiceInfo:
    service: str
    version: str
    description: str
    docs: str
    health: str
    api: str
    chat: str
    agents: str


@dataclass
class Notice:
    message: str
    level: str
    published_at: datetime


def _health(ctx: Context, status: str) -> Health:
    # The documented contract serialises this timestamp without an offset (naive UTC).
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    uptime = round(time.monotonic() - ctx.services.started_at, 3)
    return Health(status=status, timestamp=now, version=__version__, uptime=uptime)


def service_info() -> ServiceInfo:
    return ServiceInfo(
        service="agentdeck",
        version=__version__,
        description="Multi-tenant AI-agent platform: GraphQL at /graphql, REST at /api/v1.",
        docs="/docs",
        health="/health",
        api="/api/v1",
        chat="/api/v1/chat",
        agents="/api/v1/agents",
    )


def liveness(ctx: Context) -> Health:
    return _health(ctx, "healthy")


async def _probe(name: str, check) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(check(), PROBE_TIMEOUT_S)
        return name, None
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return name, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def dependency_failures(ctx: Context) -> dict[str, str]:
    """Probe the database and, when configured, Redis; map each failing one to its error."""

    async def database() -> None:
        async with ctx.services.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks = [_probe("database", database)]
    if ctx.settings.redis_url:
        checks.append(_probe("redis", ctx.bus.ping))
    results = await asyncio.gather(*checks)
    return {name: error for name, error in results if error is not None}


async def readiness(ctx: Context) -> Health:
    failures = await dependency_failures(ctx)
    if failures:
        names = ", ".join(sorted(failures))
        raise Unavailable(f"Service not ready: {names} unavailable.", details=failures)
    return _health(ctx, "ready")


async def storage_health(ctx: Context) -> Health:
    result = await ctx.services.storage.health()
    if not result.healthy:
        raise Unavailable(f"Storage provider '{result.provider}' unavailable.", details=result.detail)
    return _health(ctx, "healthy")


NOTICE_LEVELS = ("info", "warning", "critical")


async def publish_notice(ctx: Context, message: str, level: str) -> Notice:
    message = message.strip()
    if not 1 <= len(message) <= 500:
        raise InvalidInput(
            "Notice message must be 1-500 characters.",
            details=[{"field": "input.message", "message": "Notice message must be 1-500 characters."}],
        )
    notice = Notice(message=message, level=level, published_at=datetime.now(UTC))
    await ctx.bus.publish(
        NOTICES_CHANNEL,
        {"message": notice.message, "level": level, "published_at": notice.published_at.isoformat()},
    )
    return notice


async def notices(ctx: Context) -> AsyncIterator[Notice]:
    async with ctx.bus.subscribe(NOTICES_CHANNEL) as messages:
        async for raw in messages:
            yield _notice(raw)


def _notice(raw: dict[str, Any]) -> Notice:
    return Notice(
        message=raw["message"],
        level=raw["level"],
        published_at=datetime.fromisoformat(raw["published_at"]),
    )
