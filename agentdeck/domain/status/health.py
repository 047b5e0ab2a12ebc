"""Liveness, readiness, storage health, and platform notices."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from agentdeck.context import Context
from agentdeck.errors import InvalidInput, Unavailable

NOTICES_CHANNEL = "platform:notices"
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Probe:
    """A health probe's answer: the status it found, when, and how long the process has run."""

    status: str
    at: datetime
    uptime_s: float


def _answer(ctx: Context, status: str) -> Probe:
    return Probe(status, datetime.now(UTC), time.monotonic() - ctx.services.started_at)


def liveness(ctx: Context) -> Probe:
    return _answer(ctx, "healthy")


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


async def readiness(ctx: Context) -> Probe:
    failures = await dependency_failures(ctx)
    if failures:
        names = ", ".join(sorted(failures))
        raise Unavailable(f"Service not ready: {names} unavailable.", details=failures)
    return _answer(ctx, "ready")


async def storage_health(ctx: Context) -> Probe:
    result = await ctx.services.storage.health()
    if not result.healthy:
        raise Unavailable(f"Storage provider '{result.provider}' unavailable.", details=result.detail)
    return _answer(ctx, "healthy")


NOTICE_LEVELS = ("info", "warning", "critical")


async def publish_notice(ctx: Context, message: str, level: str) -> dict[str, Any]:
    """Publish a notice to every subscriber; returns it as they receive it (`notices`):
    `message`, `level` (one of NOTICE_LEVELS) and `published_at` (ISO 8601)."""
    message = message.strip()
    if not 1 <= len(message) <= 500:
        raise InvalidInput(
            "Notice message must be 1-500 characters.",
            details=[{"field": "input.message", "message": "Notice message must be 1-500 characters."}],
        )
    notice = {"message": message, "level": level, "published_at": datetime.now(UTC).isoformat()}
    await ctx.bus.publish(NOTICES_CHANNEL, notice)
    return notice


async def notices(ctx: Context) -> AsyncIterator[dict[str, Any]]:
    """The notices published from now on, on every process (see `publish_notice`)."""
    async with ctx.bus.subscribe(NOTICES_CHANNEL) as messages:
        async for notice in messages:
            yield notice
