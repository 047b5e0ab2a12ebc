"""The event bus: both implementations behind one interface, and across server processes."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from agentdeck.providers.bus import BusOverflow, InProcessBus, RedisBus
from agentdeck.providers.redis_link import RedisLink
from agentdeck.settings import Settings
from tests.harness import BOOTSTRAP_SECRET, REDIS_URL, needs_redis, start_server


def _buses():
    yield pytest.param(lambda: InProcessBus(), id="in-process")
    yield pytest.param(
        lambda: RedisBus(RedisLink(Settings(redis_url=REDIS_URL)), prefix=f"bus-test-{uuid.uuid4().hex[:8]}:"),
        id="redis",
        marks=needs_redis,
    )


@pytest.mark.parametrize("make", _buses())
async def test_publish_reaches_every_subscriber_of_the_channel_only(make):
    bus = make()
    try:
        async with bus.subscribe("a") as a1, bus.subscribe("a") as a2, bus.subscribe("b") as b:
            await bus.publish("a", {"n": 1})
            await bus.publish("a", {"n": 2})
            assert [await anext(a1), await anext(a1)] == [{"n": 1}, {"n": 2}]
            assert await anext(a2) == {"n": 1}
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(b), 0.2)
    finally:
        await bus.close()


@pytest.mark.parametrize("make", _buses())
async def test_nothing_is_delivered_after_unsubscribing(make):
    bus = make()
    try:
        async with bus.subscribe("c") as c:
            await bus.publish("c", {"n": 1})
            assert await anext(c) == {"n": 1}
        await bus.publish("c", {"n": 2})  # no subscriber: dropped, not an error
        async with bus.subscribe("c") as c:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(c), 0.2)
    finally:
        await bus.close()


@pytest.mark.parametrize("make", _buses())
async def test_an_epoch_reads_alike_and_bumps_by_one(make):
    bus = make()
    try:
        start = await bus.epoch("e")
        assert start == 0  # a new deployment's counter
        assert await bus.epoch("e", bump=True) == start + 1
        assert await bus.epoch("e") == start + 1
        assert await bus.epoch("other") == 0
    finally:
        await bus.close()


def _writer_and_other_process():
    """A stream's writer and another server process's view of the same streams: one bus in one
    process; with Redis, a second RedisBus on the same prefix whose local buffer is empty."""
    yield pytest.param(lambda: (InProcessBus(),) * 2, id="in-process")

    def redis() -> tuple[RedisBus, RedisBus]:
        prefix = f"bus-test-{uuid.uuid4().hex[:8]}:"
        writer, other = (RedisBus(RedisLink(Settings(redis_url=REDIS_URL)), prefix) for _ in range(2))
        return writer, other

    yield pytest.param(redis, id="redis", marks=needs_redis)


async def _close(*buses) -> None:
    for bus in dict.fromkeys(buses):
        await bus.close()
        if isinstance(bus, RedisBus):
            await bus.link.close()


TURN = [{"event_id": n, "kind": "final" if n == 10 else "delta"} for n in range(1, 11)]


async def _kept_terminal():
    """The domain's look at the run's row: the terminal event kept there before the bus had it."""
    return TURN[-1]


async def _ids(bus, after: int, idle_check=_kept_terminal) -> list[int]:
    stream = bus.replay("turn", after, wait_s=5, idle_check=idle_check, check_every=0.1)
    return [message["event_id"] async for message in stream]


@pytest.mark.parametrize("make", _writer_and_other_process())
async def test_a_finished_stream_replays_whole_on_every_process_from_any_position(make):
    writer, other = make()
    try:
        for message in TURN:
            await writer.append("turn", message["event_id"], message, final=message["kind"] == "final")
        if isinstance(writer, RedisBus):
            await writer.flushed()
        for reader in (other, writer):
            assert await _ids(reader, 0) == list(range(1, 11))
            assert await _ids(reader, 4) == list(range(5, 11))
            assert await _ids(reader, 9) == [10]
            # Nothing comes before message 1: a position below it reads from the start.
            assert await _ids(reader, -5) == list(range(1, 11))
    finally:
        await _close(writer, other)


@needs_redis
async def test_a_reader_on_another_process_gets_entries_still_on_their_way_to_redis():
    """The row keeps the terminal event before the bus has it, so a reader can find it there
    while the writer's last entries are still being shipped: it gets them, not a gap."""
    prefix = f"bus-test-{uuid.uuid4().hex[:8]}:"
    writer, other = (RedisBus(RedisLink(Settings(redis_url=REDIS_URL)), prefix) for _ in range(2))
    try:
        for message in TURN[:7]:
            await writer.append("turn", message["event_id"], message)
        await writer.flushed()

        async def ship_the_rest() -> None:
            await asyncio.sleep(0.1)  # a writer a little behind (its flusher waiting on Redis)
            for message in TURN[7:]:
                await writer.append("turn", message["event_id"], message, final=message["kind"] == "final")

        shipping: list[asyncio.Task] = []

        async def terminal_kept_while_shipping():
            shipping.append(asyncio.create_task(ship_the_rest()))
            return TURN[-1]

        assert await _ids(other, 0, terminal_kept_while_shipping) == list(range(1, 11))
    finally:
        await _close(writer, other)


async def test_a_subscriber_that_falls_behind_is_told():
    bus = InProcessBus(max_backlog=2)
    async with bus.subscribe("x") as x:
        for n in range(3):
            await bus.publish("x", {"n": n})
        with pytest.raises(BusOverflow):
            await anext(x)


@needs_redis
def test_an_event_published_in_one_server_reaches_a_subscriber_on_another(tmp_path):
    shared = {"AGENTDECK_REDIS_URL": REDIS_URL, "AGENTDECK_REDIS_PREFIX": f"two-{uuid.uuid4().hex[:8]}:"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_server(tmp_path / "a", env=shared)
    b = start_server(tmp_path / "b", env=shared)
    try:
        with b.subscription("subscription { notices { message } }") as sub:
            time.sleep(0.3)
            r = a.rest("POST", "/api/v1/notices", token=BOOTSTRAP_SECRET, json={"message": "from A"})
            assert r.status_code == 201
            assert sub.next()["data"]["notices"]["message"] == "from A"
    finally:
        a.stop()
        b.stop()
