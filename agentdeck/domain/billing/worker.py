"""Per-process billing upkeep: sync the configured plans at start-up, retry failed events."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agentdeck.context import Context, Services
from agentdeck.domain.billing.events import retry_due
from agentdeck.domain.billing.plans import sync_plans

log = logging.getLogger("agentdeck.billing")
RETRY_POLL_SECONDS = 15.0


class BillingWorker:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        try:
            await sync_plans(self.services.db)
        except Exception as exc:  # noqa: BLE001 - e.g. migrations not applied yet: serve anyway
            log.warning("billing plans not synced: %r", exc)
        if self.services.settings.enable_billing:
            self._task = asyncio.create_task(self._retry_loop())

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(RETRY_POLL_SECONDS)
            try:
                await retry_due(Context(services=self.services))
            except Exception as exc:  # noqa: BLE001 - keep retrying on the next tick
                log.warning("billing retry pass failed: %r", exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
