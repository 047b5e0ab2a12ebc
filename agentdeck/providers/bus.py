"""Publish/subscribe by channel: in-process by default, Redis pub/sub when REDIS_URL is set.

Messages are JSON-able dicts. A subscription is an async context manager so that the caller is
subscribed before it goes on (nothing published after `__aenter__` returns is missed):

    async with bus.subscribe("billing:<tenant>") as events:
        async for message in events:
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

Message = dict[str, Any]


class BusOverflow(RuntimeError):
    """A subscriber fell so far behind that messages were dropped for it."""


class Bus(Protocol):
    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Message]]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class _Subscription:
    __slots__ = ("queue", "overflowed")

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self.overflowed = False

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            if self.overflowed:
                raise BusOverflow("subscriber too slow; messages were dropped")
            yield await self.queue.get()


class InProcessBus:
    """One process, no serialisation: subscribers receive the published dict itself."""

    def __init__(self, max_backlog: int = 10_000) -> None:
        self._subs: dict[str, set[_Subscription]] = defaultdict(set)
        self._max_backlog = max_backlog

    async def publish(self, channel: str, message: Message) -> None:
        for sub in tuple(self._subs.get(channel, ())):
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                sub.overflowed = True

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        sub = _Subscription(self._max_backlog)
        self._subs[channel].add(sub)
        try:
            yield sub.__aiter__()
        finally:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[channel]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._subs.clear()


class RedisBus:
    """Redis pub/sub: every server process sharing the Redis sees every message."""

    def __init__(self, url: str, prefix: str = "agentdeck:") -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self._prefix = prefix

    async def publish(self, channel: str, message: Message) -> None:
        await self.redis.publish(self._prefix + channel, orjson.dumps(message))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._prefix + channel)

        async def messages() -> AsyncIterator[Message]:
            async for raw in pubsub.listen():
                if raw.get("type") == "message":
                    yield orjson.loads(raw["data"])

        try:
            yield messages()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
            await pubsub.aclose()

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()


def make_bus(redis_url: str | None, prefix: str = "agentdeck:") -> Bus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
