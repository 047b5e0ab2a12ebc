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
