"""Is a session still live? Answered from a per-process cache, kept honest by the bus.

Access tokens carry their session id (`sid`). Checking the database on every request would be
correct but costs a query per call; caching alone would let a revoked session live until the
entry expires. So: cache "live" answers briefly, and every revocation is published on the bus,
which each process (this one included) applies to its cache at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from agentdeck.db.models.identity import AuthSession
from agentdeck.db.session import Database
from agentdeck.providers.bus import Bus

log = logging.getLogger("agentdeck.auth")

CHANNEL = "auth:revocations"
LIVE_TTL_S = 30.0
MAX_ENTRIES = 100_000


class Revocations:
    def __init__(self, db: Database, bus: Bus) -> None:
        self._db = db
        self._bus = bus
        self._live: dict[uuid.UUID, float] = {}  # sid -> cached-until (monotonic)
        self._revoked: set[uuid.UUID] = set()
        self._listener: asyncio.Task | None = None
        # Cached "live" answers are trusted only while revocations are being heard.
        self._listening = False

    async def is_live(self, sid: uuid.UUID) -> bool:
        if sid in self._revoked:
            return False
        until = self._live.get(sid)
        if self._listening and until is not None and until > time.monotonic():
            return True
        async with self._db.session() as s:
            session = await s.get(AuthSession, sid)
        live = session is not None and session.revoked_at is None
        if live:
            if len(self._live) > MAX_ENTRIES:
                self._live.clear()
            self._live[sid] = time.monotonic() + LIVE_TTL_S
        return live

    async def revoked(self, sid: uuid.UUID) -> None:
        self._forget(sid)
        await self._bus.publish(CHANNEL, {"sid": str(sid)})

    def _forget(self, sid: uuid.UUID) -> None:
        self._live.pop(sid, None)
        # Only ids that were cached as live need remembering; others go to the database anyway.
        # Keeping a bounded set avoids a stale "live" entry racing in from a concurrent lookup.
        if len(self._revoked) > MAX_ENTRIES:
            self._revoked.clear()
        self._revoked.add(sid)

    async def start(self) -> None:
        """Listen for revocations; does not fail when the bus is down (the cache is bypassed)."""
        ready = asyncio.Event()

        async def listen() -> None:
            delay = 0.5
            while True:
                try:
                    async with self._bus.subscribe(CHANNEL) as messages:
                        self._listening, delay = True, 0.5
                        ready.set()
                        async for message in messages:
                            self._forget(uuid.UUID(message["sid"]))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - keep retrying; the database stays authoritative
                    log.warning("revocation listener: %s; retrying in %.1fs", exc, delay)
                finally:
                    self._listening = False
                    self._live.clear()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

        self._listener = asyncio.create_task(listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 2)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
