"""Fixed-window rate limits and locks: both implementations behind one interface."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from agentdeck.providers.ratelimit import (
    Decision,
    InProcessLimiter,
    RedisLimiter,
    make_limiter,
)
from agentdeck.providers.redis_link import RedisLink
from agentdeck.settings import Settings
from tests.harness import REDIS_URL, needs_redis


def _limiters():
    yield pytest.param(lambda: InProcessLimiter(), id="in-process")
    yield pytest.param(
        lambda: RedisLimiter(_link(), prefix=f"rl-test-{uuid.uuid4().hex[:8]}:"),
        id="redis",
        marks=needs_redis,
    )


@pytest.fixture(params=list(_limiters()))
async def limiter(request):
    lim = request.param()
    yield lim
    if isinstance(lim, RedisLimiter):  # leave no hour-long test locks behind in Redis
        keys = [k async for k in lim.redis.scan_iter(match=lim._prefix + "*")]
        if keys:
            await lim.redis.delete(*keys)
    await lim.close()
    if isinstance(lim, RedisLimiter):
        await lim.link.close()


async def test_allows_limit_hits_then_refuses(limiter):
    for n in range(1, 4):
        assert await limiter.hit("k", 3, 60) == Decision(True, n, 0)
    refused = await limiter.hit("k", 3, 60)
    assert (refused.allowed, refused.count) == (False, 4)
    assert 1 <= refused.retry_after <= 60
    peeked = await limiter.peek("k", 3, 60)
    assert (peeked.allowed, peeked.count) == (False, 4)  # peek does not count
    assert 1 <= peeked.retry_after <= 60


async def test_a_hit_may_spend_an_amount_of_a_budget(limiter):
    # What the GraphQL cost budget does: one operation spends its cost at once.
    assert await limiter.hit("k", 100, 60, amount=60) == Decision(True, 60, 0)
    assert await limiter.hit("k", 100, 60, amount=40) == Decision(True, 100, 0)
    refused = await limiter.hit("k", 100, 60, amount=1)
    assert (refused.allowed, refused.count) == (False, 101) and 1 <= refused.retry_after <= 60
    assert (await limiter.peek("k", 100, 60)).count == 101


async def test_peek_says_whether_the_next_hit_passes(limiter):
    assert await limiter.peek("k", 2, 60) == Decision(True, 0, 0)
    await limiter.hit("k", 2, 60)
    assert await limiter.peek("k", 2, 60) == Decision(True, 1, 0)
    await limiter.hit("k", 2, 60)
    assert (await limiter.peek("k", 2, 60)).allowed is False


async def test_keys_are_independent(limiter):
    await limiter.hit("a", 1, 60)
    assert (await limiter.hit("a", 1, 60)).allowed is False
    assert await limiter.hit("b", 1, 60) == Decision(True, 1, 0)


async def test_a_new_window_allows_again_and_a_lock_expires(limiter):
    await limiter.lock("user", 1)
    assert await limiter.locked_for("user") == 1
    refused = None
    for _ in range(3):  # two hits can straddle a window boundary; a third cannot also do so
        refused = await limiter.hit("k", 1, 1)
        if not refused.allowed:
            break
    assert refused is not None and refused.allowed is False and refused.retry_after == 1
    await asyncio.sleep(1.1)  # the only sleep: past the end of the window and of the lock
    assert await limiter.hit("k", 1, 1) == Decision(True, 1, 0)
    assert await limiter.locked_for("user") == 0


async def test_reset_forgets_the_count(limiter):
    await limiter.hit("k", 1, 60)
    assert (await limiter.hit("k", 1, 60)).allowed is False
    await limiter.reset("k")
    assert await limiter.hit("k", 1, 60) == Decision(True, 1, 0)
    await limiter.reset("never-hit")  # no error


async def test_lock_and_locked_for(limiter):
    assert await limiter.locked_for("user") == 0
    await limiter.lock("user", 3600)
    assert 3590 <= await limiter.locked_for("user") <= 3600
    assert await limiter.locked_for("other") == 0
    await limiter.unlock("user")
    assert await limiter.locked_for("user") == 0


def test_bad_window_is_a_programming_error():
    with pytest.raises(ValueError):
        asyncio.run(InProcessLimiter().hit("k", 1, 0))


async def test_in_process_state_is_bounded():
    lim = InProcessLimiter(max_entries=100)
    for i in range(1_000):
        await lim.hit(f"k{i}", 1, 60)
        await lim.lock(f"k{i}", 60)
    assert len(lim._counters) <= 101 and len(lim._locks) <= 101
    # The most recent keys are still counted.
    assert (await lim.hit("k999", 1, 60)).allowed is False


def _link(url: str = REDIS_URL) -> RedisLink:
    return RedisLink(Settings(redis_url=url, redis_connect_timeout_seconds=0.2, redis_socket_timeout_seconds=0.2))


async def test_redis_errors_degrade_to_per_process_limits(caplog):
    """No Redis: limits still hold, in this process, and nothing raises."""
    link = _link("redis://127.0.0.1:1/0")
    lim = RedisLimiter(link, prefix="nowhere:")
    try:
        assert (await lim.hit("k", 1, 60)).allowed
        refused = await lim.hit("k", 1, 60)
        assert not refused.allowed and refused.retry_after >= 1
        assert not (await lim.peek("k", 1, 60)).allowed
        await lim.lock("l", 60)
        assert await lim.locked_for("l") >= 59
        assert not await lim.try_lock("l", 60)
        await lim.unlock("l")
        assert await lim.try_lock("l", 60)
        await lim.reset("k")
        assert (await lim.hit("k", 1, 60)).allowed
    finally:
        await lim.close()
        await link.close()
    assert "degraded until it answers again" in caplog.text


async def test_make_limiter():
    assert isinstance(make_limiter(None, "p:"), InProcessLimiter)
    link = _link()
    lim = make_limiter(link, "p:")
    assert isinstance(lim, RedisLimiter)
    await lim.close()
    await link.close()
