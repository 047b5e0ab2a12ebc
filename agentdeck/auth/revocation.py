"""Is a session still live? Answered from a per-process cache, kept honest by the bus.

Access tokens carry their session id (`sid`). Checking the database on every request would be
correct but costs a query per call; caching alone would let a revoked session live until the
entry expires. So: cache "live" answers briefly, and every revocation is published on the bus,
which each process (this one included) applies to its cache.

The pub/sub message can arrive after the client's next request does (a loaded process reads its
socket late), so a revocation also bumps an epoch shared through the bus (one Redis INCR) before
it is published. A cached "live" answer holds only while the epoch is the one it was read at:
a cache hit costs one Redis GET instead of a database query, and after any revocation each
cached session is read from the database once more.

Service-account tokens have no session: they are keyed by their `jti` instead (`is_token_live`
/ `token_revoked`), through the same cache, channel and listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from agentdeck.db.models.identity import AuthSession
from agentdeck.db.models.service_accounts import ServiceAccountToken
from agentdeck.db.session import Database
from agentdeck.providers.bus import Bus

log = logging.getLogger("agentdeck.auth")

CHANNEL = "auth:revocations"
EPOCH = "auth:revocations"
LIVE_TTL_S = 30.0
MAX_ENTRIES = 100_000

# Cache keys: a session id, or ("jti", <jti>) for a service-account token.
Key = uuid.UUID | tuple[str, str]


class Revocations:
    def __init__(self, db: Database, bus: Bus) -> None:
        self._db = db
        self._bus = bus
        self._live: dict[Key, tuple[float, int]] = {}  # key -> (cached-until (monotonic), epoch)
        self._revoked: set[Key] = set()
        self._listener: asyncio.Task | None = None
        # Cached "live" answers are trusted only while revocations are being heard.
        self._listening = False

    async def is_live(self, sid: uuid.UUID) -> bool:
        return await self._check(sid, lambda: self._session_live(sid))

    async def is_token_live(self, jti: str) -> bool:
        """A service-account token: its row exists and is not revoked (expiry is the JWT's)."""
        return await self._check(("jti", jti), lambda: self._token_live(jti))

    async def revoked(self, sid: uuid.UUID) -> None:
        self._forget(sid)
        await self._bus.epoch(EPOCH, bump=True)
        await self._bus.publish(CHANNEL, {"sid": str(sid)})

    async def token_revoked(self, jti: str) -> None:
        self._forget(("jti", jti))
        await self._bus.epoch(EPOCH, bump=True)
        await self._bus.publish(CHANNEL, {"jti": jti})

    async def _check(self, key: Key, lookup: Callable[[], Awaitable[bool]]) -> bool:
        if key in self._revoked:
            return False
        if not self._listening:
            return await lookup()
        epoch = await self._bus.epoch(EPOCH)
        if epoch is None:
            return await lookup()
        cached = self._live.get(key)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == epoch:
            return True
        live = await lookup()
        if live:
            if len(self._live) > MAX_ENTRIES:
                self._live.clear()
            # Tagged with the epoch read before the lookup: a revocation committed meanwhile
            # has bumped it, so this entry cannot outlive that revocation's next check.
            self._live[key] = (time.monotonic() + LIVE_TTL_S, epoch)
        return live

    async def _session_live(self, sid: uuid.UUID) -> bool:
        async with self._db.platform_session() as s:
            session = await s.get(AuthSession, sid)
        return session is not None and session.revoked_at is None

    async def _token_live(self, jti: str) -> bool:
        async with self._db.platform_session() as s:
            revoked_at = await s.execute(select(ServiceAccountToken.revoked_at).where(ServiceAccountToken.jti == jti))
            row = revoked_at.first()
        return row is not None and row[0] is None

    def _forget(self, key: Key) -> None:
        self._live.pop(key, None)
        # Only ids that were cached as live need remembering; others go to the database anyway.
        # Keeping a bounded set avoids a stale "live" entry racing in from a concurrent lookup.
        if len(self._revoked) > MAX_ENTRIES:
            self._revoked.clear()
        self._revoked.add(key)

    async def start(self) -> None:
        """Listen for revocations; does not fail when the bus is down (the cache is bypassed)."""
        ready = asyncio.Event()

        async def listen() -> None:
            delay = 0.5
            while True:
                try:
                    async with self._bus.subscribe(CHANNEL, strict=True) as messages:
                        self._listening, delay = True, 0.5
                        ready.set()
                        async for message in messages:
                            if "jti" in message:
                                self._forget(("jti", str(message["jti"])))
                            else:
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
