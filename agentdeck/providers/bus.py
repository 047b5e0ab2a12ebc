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
import time
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

    async def append(self, stream: str, seq: int, message: Message, *, final: bool = False) -> None:
        """Add message number `seq` (1, 2, ...) to a replayable stream. `final` closes it."""
        ...

    def replay(self, stream: str, after: int = 0, wait_s: float = 30.0) -> AsyncIterator[Message]:
        """Messages after `after`, then live ones, until the final one. Gives up (ends) when
        nothing arrives for `wait_s` (a stream not yet written to is waited for)."""
        ...

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


STREAM_TTL_S = 3600  # how long a finished stream stays replayable


class _Stream:
    __slots__ = ("messages", "final", "changed", "expires")

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.final = False
        self.changed = asyncio.Event()
        self.expires = 0.0


class InProcessBus:
    """One process, no serialisation: subscribers receive the published dict itself."""

    def __init__(self, max_backlog: int = 10_000) -> None:
        self._subs: dict[str, set[_Subscription]] = defaultdict(set)
        self._max_backlog = max_backlog
        self._streams: dict[str, _Stream] = {}

    async def append(self, stream: str, seq: int, message: Message, *, final: bool = False) -> None:
        st = self._stream(stream)
        now = time.monotonic()
        if seq != len(st.messages) + 1:
            raise ValueError(f"stream {stream}: expected message {len(st.messages) + 1}, got {seq}")
        st.messages.append(message)
        st.final = st.final or final
        st.expires = now + STREAM_TTL_S
        st.changed.set()
        st.changed = asyncio.Event()

    def _stream(self, stream: str) -> _Stream:
        st = self._streams.get(stream)
        if st is None:
            now = time.monotonic()
            if len(self._streams) > 1000:  # forget streams past their time
                for key in [k for k, v in self._streams.items() if v.expires < now]:
                    del self._streams[key]
            st = self._streams[stream] = _Stream()
            st.expires = now + STREAM_TTL_S
        return st

    async def replay(self, stream: str, after: int = 0, wait_s: float = 30.0) -> AsyncIterator[Message]:
        # A reader may arrive before the writer's first message: it waits like any other.
        st = self._stream(stream)
        position = max(after, 0)
        while True:
            while position < len(st.messages):
                position += 1
                yield st.messages[position - 1]
            if st.final:
                return
            try:
                await asyncio.wait_for(st.changed.wait(), wait_s)
            except TimeoutError:
                return

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
    """Redis pub/sub: every server process sharing the Redis sees every message. Replayable
    streams are Redis Streams whose entry ids are `<seq>-0`, kept for STREAM_TTL_S."""

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

    async def append(self, stream: str, seq: int, message: Message, *, final: bool = False) -> None:
        key = self._prefix + "stream:" + stream
        fields = {"m": orjson.dumps(message)}
        if final:
            fields["final"] = b"1"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, fields, id=f"{seq}-0")
            pipe.expire(key, STREAM_TTL_S)
            await pipe.execute()

    async def replay(self, stream: str, after: int = 0, wait_s: float = 30.0) -> AsyncIterator[Message]:
        key = self._prefix + "stream:" + stream
        last = f"{max(after, 0)}-0"  # XREAD blocks on a stream that does not exist yet, too
        while True:
            batch = await self.redis.xread({key: last}, count=500, block=int(wait_s * 1000))
            if not batch:
                return
            for entry_id, fields in batch[0][1]:
                last = entry_id
                yield orjson.loads(fields[b"m"])
                if b"final" in fields:
                    return

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()


def make_bus(redis_url: str | None, prefix: str = "agentdeck:") -> Bus:
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()
