"""Publish/subscribe by channel, and replayable streams: in-process by default, Redis when
REDIS_URL is set so that several server processes share them.

Messages are JSON-able dicts. A subscription is an async context manager so that the caller is
subscribed before it goes on (nothing published after `__aenter__` returns is missed):

    async with bus.subscribe("billing:<tenant>") as events:
        async for message in events:
            ...

With Redis, this process stays useful when Redis is not (degraded mode):
- streams are written to a local buffer first and shipped to Redis in pipelined batches by a
  background flusher, which retries until Redis answers; a reader in the writing process reads
  the local buffer, so a turn's own stream never depends on Redis;
- a reader of another process's stream reads what Redis holds, then blocks on Redis (on a
  connection of its own) and, when Redis fails or the stream stays silent, asks `idle_check`
  (the domain's look at the database) for the stream's terminal event, so every reader ends.
  The database has that event before Redis (and before the entries the writer is still
  shipping), so a reader told the end there reads Redis once more before giving it;
- one pub/sub connection per process carries every channel; a publish that cannot reach Redis
  is delivered to this process's subscribers, and subscriptions are renewed when Redis returns.
  A subscriber that must know about gaps (the revocation cache) subscribes `strict` and is told
  with `BusDisconnected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, cast

import orjson

from agentdeck.providers.redis_link import BLOCK_SECONDS, FAILURES, RedisLink

Message = dict[str, Any]
IdleCheck = Callable[[], Awaitable[Message | None]]
log = logging.getLogger("agentdeck.bus")

STREAM_TTL_S = 3600  # how long a finished stream stays replayable
LOCAL_STREAM_TTL_S = 600  # with Redis, the local copy serves only this process's readers
MAX_OUTBOX = 100_000  # stream entries waiting for Redis; beyond, the oldest are dropped
READ_BATCH = 500  # stream entries one XREAD returns at most
SETTLE_SECONDS = 0.5  # how long a reader told the stream's end waits for entries still on their way
HUB = "__hub__"
# Ships a batch of stream entries in one command: KEYS are the batch's streams, ARGV[1] the TTL
# and ARGV[2] the entries, each framed as "<index in KEYS> <number> <1 if final, else 0>
# <length>\n" and then the message's bytes. One argument for the whole batch: redis-py packed
# four per entry, a pipeline of XADDs a command and a reply per entry (~45 us of an event's
# server CPU). An entry that is already in (a retried batch) is not an error.
WRITE_ENTRIES = """
local data, pos = ARGV[2], 1
while pos <= #data do
  local eol = string.find(data, '\\n', pos, true)
  local k, seq, final, size = string.match(string.sub(data, pos, eol - 1), '^(%d+) (%d+) (%d) (%d+)$')
  local key, id, message = KEYS[tonumber(k)], seq .. '-0', string.sub(data, eol + 1, eol + tonumber(size))
  local reply
  if final == '1' then
    reply = redis.pcall('XADD', key, id, 'm', message, 'final', '1')
  else
    reply = redis.pcall('XADD', key, id, 'm', message)
  end
  if type(reply) == 'table' and reply.err and not string.find(reply.err, 'equal or smaller', 1, true) then
    return redis.error_reply(reply.err)
  end
  pos = eol + tonumber(size) + 1
end
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ARGV[1])
end
return #KEYS
"""


class BusOverflow(RuntimeError):
    """A subscriber fell so far behind that messages were dropped for it."""


class BusDisconnected(RuntimeError):
    """A strict subscriber's channel lost Redis: messages may have been missed."""


class Bus(Protocol):
    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(
        self, channel: str, *, strict: bool = False
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Message]]: ...

    async def append(self, stream: str, seq: int, message: Message, *, final: bool = False) -> None:
        """Add message number `seq` (1, 2, ...) to a replayable stream. `final` closes it."""
        ...

    def replay(
        self,
        stream: str,
        after: int = 0,
        wait_s: float = 30.0,
        *,
        idle_check: IdleCheck | None = None,
        check_every: float = 10.0,
    ) -> AsyncIterator[Message]:
        """Messages after `after` (all of them when `after` < 1), then live ones, until the final
        one. Gives up (ends) when nothing arrives for `wait_s`. Meanwhile, every `check_every`
        seconds of silence (and at once when the stream cannot be read or is not known here),
        `idle_check()` may supply the terminal message, numbered after what this reader has
        seen. It is asked only once the reader has every message the stream holds: a terminal
        message kept elsewhere never stands in for messages that can still be read."""
        ...

    async def epoch(self, name: str, *, bump: bool = False) -> int | None:
        """A counter every process of the deployment reads alike (`bump` adds one first): a
        process compares it with the value it last saw to learn that something changed before
        the pub/sub message saying what arrives. None when it cannot be read."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


_WAKE: Message = {}


class _Subscription:
    __slots__ = ("queue", "error", "strict")

    def __init__(self, maxsize: int, strict: bool) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self.error: Exception | None = None
        self.strict = strict

    def fail(self, error: Exception) -> None:
        self.error = error
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(_WAKE)

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            if self.error is not None:
                raise self.error
            message = await self.queue.get()
            if message is not _WAKE:
                yield message


class _Stream:
    __slots__ = ("messages", "base", "final", "changed", "expires")

    def __init__(self, ttl: float) -> None:
        self.messages: list[Message] = []
        self.base = 0  # messages 1..base are not held here (a writer that took over a stream)
        self.final = False
        self.changed = asyncio.Event()
        self.expires = time.monotonic() + ttl

    @property
    def last(self) -> int:
        return self.base + len(self.messages)


class InProcessBus:
    """One process, no serialisation: subscribers receive the published dict itself."""

    def __init__(self, max_backlog: int = 10_000, stream_ttl: float = STREAM_TTL_S) -> None:
        self._subs: dict[str, set[_Subscription]] = defaultdict(set)
        self._max_backlog = max_backlog
        self._streams: dict[str, _Stream] = {}
        self._ttl = stream_ttl
        self._epochs: dict[str, int] = defaultdict(int)

    # -- streams -------------------------------------------------------------------------------

    async def append(self, stream: str, seq: int, message: Message, *, final: bool = False) -> None:
        st = self._streams.get(stream)
        if st is None:
            st = self._new_stream(stream)
        if not st.messages and st.base == 0:
            st.base = seq - 1
        if seq != st.last + 1:
            raise ValueError(f"stream {stream}: expected message {st.last + 1}, got {seq}")
        st.messages.append(message)
        st.final = st.final or final
        st.expires = time.monotonic() + self._ttl
        # Readers wait on `changed` only once they have read every message; a reader that finds
        # it set re-arms it (see `replay`), so a burst of appends costs one set, not an Event each.
        if not st.changed.is_set():
            st.changed.set()

    def holds(self, stream: str, after: int) -> bool:
        """Whether this process has the stream from message `after` + 1 on."""
        st = self._streams.get(stream)
        return st is not None and bool(st.messages or st.final) and after >= st.base

    def _new_stream(self, stream: str) -> _Stream:
        now = time.monotonic()
        if len(self._streams) > 1000:  # forget streams past their time
            for key in [k for k, v in self._streams.items() if v.expires < now]:
                del self._streams[key]
        st = self._streams[stream] = _Stream(self._ttl)
        return st

    async def replay(
        self,
        stream: str,
        after: int = 0,
        wait_s: float = 30.0,
        *,
        idle_check: IdleCheck | None = None,
        check_every: float = 10.0,
    ) -> AsyncIterator[Message]:
        # A reader may arrive before the writer's first message: it waits like any other.
        known = stream in self._streams
        st = self._streams.get(stream) or self._new_stream(stream)
        position = max(after, st.base)
        idle_since = time.monotonic()
        check_now = not known  # nothing here (this process restarted?): ask at once
        while True:
            while position < st.last:
                position += 1
                yield st.messages[position - st.base - 1]
                idle_since = time.monotonic()
            if st.final:
                if position == st.last or idle_check is None:
                    return
                # Closed, but numbered below this reader (a sweeper that could not see the
                # stream wrote its end): the kept terminal event ends it.
                check_now = True
            if check_now and idle_check is not None:
                terminal = await idle_check()
                if terminal is not None:
                    yield terminal
                    return
            left = wait_s - (time.monotonic() - idle_since)
            if left <= 0:
                return
            if st.changed.is_set():  # set by appends: a fresh one to wait on, after reading them
                st.changed = asyncio.Event()
                if position < st.last:  # appended while `idle_check` ran
                    continue
            try:
                await asyncio.wait_for(st.changed.wait(), min(left, check_every) if idle_check else left)
                check_now = False
            except TimeoutError:
                check_now = True

    # -- pub/sub -------------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> None:
        for sub in tuple(self._subs.get(channel, ())):
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                sub.fail(BusOverflow("subscriber too slow; messages were dropped"))

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, *, strict: bool = False) -> AsyncIterator[AsyncIterator[Message]]:
        sub = _Subscription(self._max_backlog, strict)
        self._subs[channel].add(sub)
        try:
            yield sub.__aiter__()
        finally:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[channel]

    def disconnect_strict(self, error: Exception) -> None:
        for subs in self._subs.values():
            for sub in subs:
                if sub.strict:
                    sub.fail(error)

    async def epoch(self, name: str, *, bump: bool = False) -> int | None:
        if bump:
            self._epochs[name] += 1
        return self._epochs[name]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._subs.clear()


class RedisBus:
    """Redis pub/sub and Redis Streams (entry ids `<seq>-0`, kept for STREAM_TTL_S) over a local
    `InProcessBus` that keeps this process working when Redis does not answer."""

    def __init__(self, link: RedisLink, prefix: str = "agentdeck:") -> None:
        self.link = link
        self._prefix = prefix
        self.local = InProcessBus(stream_ttl=LOCAL_STREAM_TTL_S)
        # pub/sub: one connection for every channel this process listens to
        self._channels: dict[str, int] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._pubsub: Any = None
        self._hub: asyncio.Task | None = None
        # streams: entries on their way to Redis
        self._outbox: deque[tuple[str, int, bytes, bool]] = deque()
        self._write_entries = link.client.register_script(WRITE_ENTRIES)
        self._kick = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._flusher: asyncio.Task | None = None

    def _key(self, stream: str) -> str:
        return f"{self._prefix}stream:{stream}"

    # -- streams -------------------------------------------------------------------------------

    async def append(self, stream: str, seq: int, message: Message, *, final: bool = False) -> None:
        await self.local.append(stream, seq, message, final=final)
        self._outbox.append((self._key(stream), seq, orjson.dumps(message), final))
        if len(self._outbox) > MAX_OUTBOX:
            self._outbox.popleft()
            log.warning("stream outbox full while Redis is unreachable: dropping the oldest entry")
        self._kick.set()
        self._drained.clear()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="bus-stream-flusher")

    async def flushed(self) -> None:
        """Wait until every entry appended so far reached Redis (graceful shutdown, tests)."""
        await self._drained.wait()

    async def _flush(self) -> None:
        delay = 0.05
        while True:
            await self._kick.wait()
            self._kick.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 500))]
                keys: dict[str, int] = {}  # stream key -> its index in KEYS (from 1)
                frames: list[bytes] = []
                for key, seq, data, final in batch:
                    frames += (b"%d %d %d %d\n" % (keys.setdefault(key, len(keys) + 1), seq, final, len(data)), data)
                try:
                    await self._write_entries(keys=list(keys), args=[STREAM_TTL_S, b"".join(frames)])
                    delay = 0.05
                except asyncio.CancelledError:
                    self._outbox.extendleft(reversed(batch))
                    raise
                except FAILURES as exc:
                    self.link.failed("stream write", exc)
                    self._outbox.extendleft(reversed(batch))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            self._drained.set()

    async def replay(
        self,
        stream: str,
        after: int = 0,
        wait_s: float = 30.0,
        *,
        idle_check: IdleCheck | None = None,
        check_every: float = 10.0,
    ) -> AsyncIterator[Message]:
        after = max(after, 0)  # messages are numbered from 1: a position below reads them all
        if self.local.holds(stream, after):
            async for message in self.local.replay(
                stream, after, wait_s, idle_check=idle_check, check_every=check_every
            ):
                yield message
            return
        # Redis first, then the database: what Redis holds is read before `idle_check` is asked
        # (at once the first time: the stream may be gone from Redis), so the terminal event
        # kept in the row never stands in for messages Redis still has.
        key, last = self._key(stream), after
        idle_since = next_check = time.monotonic()
        caught_up = False  # the last read took all Redis had: the next may block
        ended: Message | None = None  # the database's terminal message, given after a last read
        pause = 0.0  # after a failed read, Redis gets a moment before the next
        while True:
            now = time.monotonic()
            if caught_up and ended is None and idle_check is not None and now >= next_check:
                ended = await idle_check()
                next_check = now + check_every
            if ended is not None and pause:
                yield ended  # Redis cannot be read: the database's end it is
                return
            left = wait_s - (now - idle_since)
            if ended is None and left <= 0:
                return
            if pause:
                await asyncio.sleep(min(pause, left))
                pause = 0.0
            block: int | None = None  # no BLOCK: what is there now
            if ended is not None:
                # The row has the terminal event before Redis has it, and the writer may still
                # be shipping the messages before it: they are worth a short wait.
                block = int(SETTLE_SECONDS * 1000)
            elif caught_up:
                wait = min(left, BLOCK_SECONDS, max(next_check - now, 0.05) if idle_check else left)
                block = max(1, int(wait * 1000))
            try:
                # XREAD blocks on a stream that does not exist yet, too.
                # cast: redis-py types the reply of either protocol; our connections speak RESP2
                # and do not decode, so it is [[key, [(entry id, {field: value}), ...]]] in bytes.
                batch = cast(
                    "list[list[Any]]",
                    await self.link.blocking.xread({key: f"{last}-0"}, count=READ_BATCH, block=block),
                )
            except FAILURES as exc:
                self.link.failed("stream read", exc)
                if ended is not None:
                    yield ended
                    return
                # Degraded: the database says how the stream ended, at once and at every retry.
                caught_up, next_check, pause = True, time.monotonic(), 1.0
                continue
            entries = batch[0][1] if batch else []
            for entry_id, fields in entries:
                last = int(entry_id.split(b"-", 1)[0])
                yield orjson.loads(fields[b"m"])
                idle_since = time.monotonic()
                if b"final" in fields:
                    return
            if entries and ended is not None:
                ended, next_check = None, time.monotonic()  # numbered before these: ask again
            elif ended is not None:
                yield ended
                return
            caught_up = len(entries) < READ_BATCH

    # -- pub/sub -------------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> None:
        hub_listening = self._pubsub is not None
        if self.link.up:
            try:
                await self.link.client.publish(self._prefix + channel, orjson.dumps(message))
                if hub_listening:
                    return  # this process's subscribers get it back through the hub
            except FAILURES as exc:
                self.link.failed("publish", exc)
        await self.local.publish(channel, message)  # degraded: this process's subscribers only

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str, *, strict: bool = False) -> AsyncIterator[AsyncIterator[Message]]:
        if self._hub is None or self._hub.done():
            self._hub = asyncio.create_task(self._listen(), name="bus-pubsub")
        async with self.local.subscribe(channel, strict=strict) as messages:
            self._channels[channel] = self._channels.get(channel, 0) + 1
            confirmed = self._confirmed.setdefault(channel, asyncio.Event())
            try:
                if self._pubsub is not None and not confirmed.is_set():
                    with contextlib.suppress(*FAILURES):
                        await self._pubsub.subscribe(self._prefix + channel)
                try:
                    await asyncio.wait_for(confirmed.wait(), 2.0)
                except TimeoutError:
                    if strict:
                        raise BusDisconnected("Redis pub/sub is not reachable") from None
                    # Degraded: this process's own messages until the hub reconnects.
                yield messages
            finally:
                self._channels[channel] -= 1
                if not self._channels[channel]:
                    del self._channels[channel]
                    self._confirmed.pop(channel, None)
                    if self._pubsub is not None:
                        with contextlib.suppress(*FAILURES):
                            await self._pubsub.unsubscribe(self._prefix + channel)

    async def _listen(self) -> None:
        """The hub: one pub/sub connection, resubscribed to every channel after a failure."""
        delay = 0.2
        while True:
            pubsub = self.link.client.pubsub()
            try:
                await pubsub.subscribe(self._prefix + HUB)
                self._pubsub = pubsub
                if self._channels:
                    await pubsub.subscribe(*(self._prefix + c for c in self._channels))
                while True:
                    raw = await pubsub.get_message(timeout=1.0)
                    if raw is None:
                        continue
                    channel = raw["channel"].decode()[len(self._prefix) :]
                    if raw["type"] == "subscribe":
                        self._confirmed.setdefault(channel, asyncio.Event()).set()
                        delay = 0.2
                    elif raw["type"] == "message":
                        await self.local.publish(channel, orjson.loads(raw["data"]))
            except asyncio.CancelledError:
                raise
            except FAILURES as exc:
                self.link.failed("pub/sub", exc)
            finally:
                self._pubsub = None
                for event in self._confirmed.values():
                    event.clear()
                self.local.disconnect_strict(BusDisconnected("lost Redis pub/sub"))
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def epoch(self, name: str, *, bump: bool = False) -> int | None:
        if not self.link.up:
            return None
        key = f"{self._prefix}epoch:{name}"
        try:
            if bump:
                return int(await self.link.client.incr(key))
            return int(await self.link.client.get(key) or 0)
        except FAILURES as exc:
            self.link.failed("epoch", exc)
            return None

    async def ping(self) -> None:
        await self.link.client.ping()

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flushed(), 2.0)
        for task in (self._hub, self._flusher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        await self.local.close()


def make_bus(link: RedisLink | None, prefix: str = "agentdeck:") -> Bus:
    return RedisBus(link, prefix) if link is not None else InProcessBus()
