"""Fixed-window rate limits and temporary locks: in-process by default, Redis when REDIS_URL is set.

A window of `window_seconds` starts at a multiple of `window_seconds` since the Unix epoch, so
every process sharing a Redis agrees on it. `hit` counts one event (or `amount` units of a
budget, e.g. a GraphQL operation's cost) and says whether the window's total is within
`limit`; refused events are counted too (hammering does not shorten anything, the window just
ends). Use one window length per key: `reset(key)` clears the key's current window.

`lock(key, seconds)` / `locked_for(key)` / `try_lock` are timed locks: a sign-in client's wait
between attempts (`domain/identity/login_throttle.py`) and the lease slots of `held_slot`.

Failure policy when Redis errors or times out: **degrade to this process**. Each operation
falls back to an in-process limiter, so limits still hold per process (a client spread over N
processes gets up to N times its quota) instead of vanishing; a (throttled) warning is logged
and the next second's calls skip Redis altogether (`RedisLink.up`). Counts made meanwhile stay
in the process; Redis's counts resume when it answers. Limits are abuse protection, not
authorisation: an outage of Redis must not take sign-in and chat down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from agentdeck.providers.redis_link import FAILURES, RedisLink

log = logging.getLogger(__name__)
T = TypeVar("T")
# What InProcessLimiter keeps per key: a counter (window start, window end, count) or a lock end.
_Entry = TypeVar("_Entry", tuple[int, int, int], float)


class _Failed:
    """What `RedisLimiter._redis` answers when Redis did not (test it with isinstance, which
    narrows the answer's type; FAILED is the only instance)."""


FAILED = _Failed()


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    count: int  # events in the current window, this one included (for `peek`: so far)
    retry_after: int  # seconds until the window ends; >= 1 when refused, 0 when allowed


ALLOW = Decision(allowed=True, count=0, retry_after=0)


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    """(window start, seconds left in it rounded up to >= 1)."""
    if window_seconds < 1:
        raise ValueError("window_seconds must be >= 1")
    start = int(now // window_seconds) * window_seconds
    return start, max(1, math.ceil(start + window_seconds - now))


def _decide(count: int, limit: int, left: int, *, next_hit: bool = False) -> Decision:
    # `peek` asks whether one more hit would pass; `hit` whether the one just counted did.
    allowed = count < limit if next_hit else count <= limit
    return Decision(allowed, count, 0 if allowed else left)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int, amount: int = 1) -> Decision: ...

    async def peek(self, key: str, limit: int, window_seconds: int) -> Decision: ...

    async def reset(self, key: str) -> None: ...

    async def lock(self, key: str, seconds: int) -> None: ...

    async def locked_for(self, key: str) -> int: ...

    async def try_lock(self, key: str, seconds: int) -> bool:
        """Take `key` for `seconds` unless someone holds it (a lease slot); True if taken."""
        ...

    async def unlock(self, key: str) -> None: ...

    async def close(self) -> None: ...


class InProcessLimiter:
    """One process. Both dicts are pruned lazily once they hold more than `max_entries`."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max_entries = max_entries
        # key -> (window start, window end, count)
        self._counters: dict[str, tuple[int, int, int]] = {}
        # key -> lock end (epoch seconds)
        self._locks: dict[str, float] = {}

    def _prune(self, table: dict[str, _Entry], now: float) -> None:
        if len(table) <= self._max_entries:
            return
        for key, value in list(table.items()):
            end = value[1] if isinstance(value, tuple) else value
            if end <= now:
                del table[key]
        # Still full of live entries (many distinct keys, e.g. a botnet): drop the oldest down to
        # 90 % so the next inserts do not each pay a full scan. Forgetting a counter only lets
        # that key start over, which is the fail-open side.
        excess = len(table) - int(self._max_entries * 0.9)
        for key in list(table)[: max(0, excess)]:
            del table[key]

    def _current(self, key: str, window_seconds: int, now: float) -> tuple[int, int, int]:
        """(window start, count so far in it, seconds left)."""
        start, left = _window(window_seconds, now)
        entry = self._counters.get(key)
        if entry is None or entry[0] != start or entry[1] != start + window_seconds:
            return start, 0, left
        return start, entry[2], left

    async def hit(self, key: str, limit: int, window_seconds: int, amount: int = 1) -> Decision:
        now = time.time()
        start, count, left = self._current(key, window_seconds, now)
        if count == 0:
            # Re-insert so that dict order stays roughly oldest-window-first for pruning.
            self._counters.pop(key, None)
            self._prune(self._counters, now)
        self._counters[key] = (start, start + window_seconds, count + amount)
        return _decide(count + amount, limit, left)

    async def peek(self, key: str, limit: int, window_seconds: int) -> Decision:
        _, count, left = self._current(key, window_seconds, time.time())
        return _decide(count, limit, left, next_hit=True)

    async def reset(self, key: str) -> None:
        self._counters.pop(key, None)

    async def lock(self, key: str, seconds: int) -> None:
        now = time.time()
        self._locks.pop(key, None)
        self._prune(self._locks, now)
        self._locks[key] = now + seconds

    async def locked_for(self, key: str) -> int:
        end = self._locks.get(key)
        if end is None:
            return 0
        left = end - time.time()
        if left <= 0:
            del self._locks[key]
            return 0
        return math.ceil(left)

    async def try_lock(self, key: str, seconds: int) -> bool:
        if await self.locked_for(key):
            return False
        await self.lock(key, seconds)
        return True

    async def unlock(self, key: str) -> None:
        self._locks.pop(key, None)

    async def close(self) -> None:
        self._counters.clear()
        self._locks.clear()


class RedisLimiter:
    """Redis: every process sharing the Redis shares the counters and locks.

    Keys: `<prefix>rl:<key>:<window>:<start>` (the counter, expiring just after its window),
    `<prefix>rlw:<key>` (name of the key's latest counter, so `reset(key)` needs no SCAN) and
    `<prefix>lock:<key>` (SET EX).
    """

    def __init__(self, link: RedisLink, prefix: str = "agentdeck:") -> None:
        self.link = link
        self.redis = link.client
        self._prefix = prefix
        self.local = InProcessLimiter()  # while Redis does not answer

    def _counter_key(self, key: str, window_seconds: int, start: int) -> str:
        return f"{self._prefix}rl:{key}:{window_seconds}:{start}"

    async def _redis(self, what: str, call: Callable[[], Awaitable[T]]) -> T | _Failed:
        """`call()`'s result, or FAILED when Redis did not answer (the caller asks `self.local`)."""
        if not self.link.up:
            return FAILED
        try:
            return await call()
        except FAILURES as exc:
            self.link.failed(f"rate limiter {what}", exc)
            return FAILED

    async def hit(self, key: str, limit: int, window_seconds: int, amount: int = 1) -> Decision:
        start, left = _window(window_seconds, time.time())
        counter = self._counter_key(key, window_seconds, start)
        # Relative TTL (not EXPIREAT) so that a clock difference between us and Redis cannot
        # expire the counter before its window ends; +1 covers the rounding.
        ttl = left + 1

        async def call() -> int:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incrby(counter, amount)
                pipe.expire(counter, ttl)
                pipe.set(f"{self._prefix}rlw:{key}", counter, ex=ttl)
                count, _, _ = await pipe.execute()
            return int(count)

        count = await self._redis("hit", call)
        if isinstance(count, _Failed):
            return await self.local.hit(key, limit, window_seconds, amount)
        return _decide(count, limit, left)

    async def peek(self, key: str, limit: int, window_seconds: int) -> Decision:
        start, left = _window(window_seconds, time.time())
        raw = await self._redis("peek", lambda: self.redis.get(self._counter_key(key, window_seconds, start)))
        if isinstance(raw, _Failed):
            return await self.local.peek(key, limit, window_seconds)
        return _decide(int(raw or 0), limit, left, next_hit=True)

    async def reset(self, key: str) -> None:
        await self.local.reset(key)

        async def call() -> None:
            latest = f"{self._prefix}rlw:{key}"
            counter = await self.redis.get(latest)
            await self.redis.delete(latest, *([counter] if counter else []))

        await self._redis("reset", call)

    async def lock(self, key: str, seconds: int) -> None:
        done = await self._redis("lock", lambda: self.redis.set(f"{self._prefix}lock:{key}", b"1", ex=max(1, seconds)))
        if isinstance(done, _Failed):
            await self.local.lock(key, seconds)

    async def locked_for(self, key: str) -> int:
        # PTTL, not TTL: TTL rounds, so a lock with 0.4 s left would read as 0 (unlocked).
        ms = await self._redis("locked_for", lambda: self.redis.pttl(f"{self._prefix}lock:{key}"))
        if isinstance(ms, _Failed):
            return await self.local.locked_for(key)
        return math.ceil(ms / 1000) if ms > 0 else 0

    async def try_lock(self, key: str, seconds: int) -> bool:
        taken = await self._redis(
            "try_lock", lambda: self.redis.set(f"{self._prefix}lock:{key}", b"1", ex=max(1, seconds), nx=True)
        )
        if isinstance(taken, _Failed):
            return await self.local.try_lock(key, seconds)
        return bool(taken)

    async def unlock(self, key: str) -> None:
        await self.local.unlock(key)
        await self._redis("unlock", lambda: self.redis.delete(f"{self._prefix}lock:{key}"))

    async def close(self) -> None:
        await self.local.close()


@contextlib.asynccontextmanager
async def held_slot(limiter: RateLimiter, base: str, cap: int, lease_s: int = 60) -> AsyncIterator[bool]:
    """One of `cap` slots (`<base>:<i>`) shared by every process on the limiter, held while the
    block runs: the lease is renewed every third of `lease_s`, so a long stream keeps its slot
    and a crashed process's slot frees itself within `lease_s`. Yields False when all are taken."""
    key = None
    for i in range(cap):
        if await limiter.try_lock(f"{base}:{i}", lease_s):
            key = f"{base}:{i}"
            break
    if key is None:
        yield False
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            await limiter.lock(key, lease_s)

    renewal = asyncio.create_task(renew())
    try:
        yield True
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal
        with contextlib.suppress(Exception):
            await limiter.unlock(key)


def make_limiter(link: RedisLink | None, prefix: str = "agentdeck:") -> RateLimiter:
    return RedisLimiter(link, prefix) if link is not None else InProcessLimiter()
