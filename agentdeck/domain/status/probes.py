"""The status page's live data: dependency probes run periodically, kept as history.

`StatusMonitor` runs in every server process (added by `app.add_workers`); each round probes
every service, stores one `StatusProbe` row per service and publishes a `status:changes` event
when a service changes state. The status page and its uptime figures read the rows, so several
processes agree on what they show. Each round also purges a bounded batch of expired idempotency
keys (`domain/common/idempotency.purge_expired`) and of activity events past their retention
(`domain/activity.purge_older`): the one periodic upkeep every process runs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import delete

from agentdeck.context import Services
from agentdeck.db.models.status import StatusProbe
from agentdeck.domain.activity import purge_older
from agentdeck.domain.common.idempotency import purge_expired
from agentdeck.domain.status.health import PROBE_TIMEOUT_S, dependency_failures

log = logging.getLogger("agentdeck.status")

CHANGES_CHANNEL = "status:changes"
HISTORY = timedelta(days=90)


@dataclass(frozen=True)
class ServiceSpec:
    key: str
    name: str
    description: str
    owner: str


SERVICES = (
    ServiceSpec("api", "API", "GraphQL and REST endpoints, subscriptions and streams.", "Platform team"),
    ServiceSpec("database", "Database", "Primary relational database.", "Platform team"),
    ServiceSpec("redis", "Redis", "Event bus, rate limits and session revocation.", "Platform team"),
    ServiceSpec("storage", "Storage", "Object storage for files and attachments.", "Platform team"),
    ServiceSpec("llm", "LLM provider", "Model provider behind agents and chat.", "AI team"),
    ServiceSpec("payments", "Payments", "Payment provider for plans and invoices.", "Billing team"),
)


async def _reachable(url: str) -> None:
    """Any HTTP answer below 500 means the provider is up (auth errors included)."""
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, trust_env=False) as client:
        response = await client.get(url)
    if response.status_code >= 500:
        raise RuntimeError(f"HTTP {response.status_code}")


async def _guard(check: Callable[[], Awaitable[None]]) -> str | None:
    try:
        await asyncio.wait_for(check(), PROBE_TIMEOUT_S)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:500]


async def probe_all(services: Services) -> dict[str, str | None]:
    """service key -> None when healthy, else why not. Embedded defaults (in-process bus, the
    offline model, local billing) are healthy whenever the process is."""
    from agentdeck.context import Context

    settings = services.settings

    async def storage() -> None:
        result = await services.storage.health()
        if not result.healthy:
            raise RuntimeError(result.detail or "unhealthy")

    async def llm() -> None:
        if settings.openai_base_url or settings.openai_api_key:
            await _reachable((settings.openai_base_url or "https://api.openai.com/v1").rstrip("/") + "/models")

    async def payments() -> None:
        if settings.stripe_api_base or settings.stripe_secret_key:
            await _reachable(settings.stripe_api_base or "https://api.stripe.com")

    failures, storage_error, llm_error, payments_error = await asyncio.gather(
        dependency_failures(Context(services=services)), _guard(storage), _guard(llm), _guard(payments)
    )
    return {
        "api": None,  # this process is answering
        "database": failures.get("database"),
        "redis": failures.get("redis"),
        "storage": storage_error,
        "llm": llm_error,
        "payments": payments_error,
    }


class StatusMonitor:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.last: dict[str, bool] = {}
        self._task: asyncio.Task | None = None
        self._rounds = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="status-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - a failed round must not end the loop
                log.exception("status probe round failed")
            await asyncio.sleep(self.services.settings.status_probe_interval_seconds)

    async def run_once(self) -> None:
        results = await probe_all(self.services)
        now = datetime.now(UTC)
        try:
            async with self.services.db.platform_session() as s:
                s.add_all(StatusProbe(service=k, ok=e is None, error=e, checked_at=now) for k, e in results.items())
                if self._rounds % 100 == 0:  # prune now and then, not every round
                    await s.execute(delete(StatusProbe).where(StatusProbe.checked_at < now - HISTORY))
                await s.commit()
        except Exception:  # noqa: BLE001 - the database may be the thing that is down
            log.warning("could not record status probes (database unavailable?)")
        try:
            await purge_expired(self.services.db, self.services.settings.idempotency_ttl_hours)
        except Exception:  # noqa: BLE001 - as above; the next round purges what this one could not
            log.warning("could not purge expired idempotency keys (database unavailable?)")
        try:
            await purge_older(self.services.db, self.services.settings.activity_retention_days)
        except Exception:  # noqa: BLE001 - as above
            log.warning("could not purge old activity events (database unavailable?)")
        self._rounds += 1
        for key, error in results.items():
            ok = error is None
            if self.last.get(key) != ok:
                if key in self.last:
                    log.warning("status: %s is now %s%s", key, "up" if ok else "down", f" ({error})" if error else "")
                await publish_change(
                    self.services,
                    {
                        "kind": "service",
                        "service": key,
                        "status": "operational" if ok else "major_outage",
                        "incident_id": None,
                        "impact": error,
                        "at": now.isoformat(),
                    },
                )
            self.last[key] = ok


async def publish_change(services: Services, event: dict) -> None:
    try:
        await asyncio.wait_for(services.bus.publish(CHANGES_CHANNEL, event), PROBE_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - the bus (Redis) may be down: the page still shows it
        log.warning("could not publish status change for %s", event.get("service"))
