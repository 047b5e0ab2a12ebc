"""The process's connection to Redis: one command pool, one pool for blocking reads, and a short
memory of failures so that an outage costs each request nothing after the first.

redis-py 8 gives every socket read a 5 s timeout by default, which cut every blocking `XREAD`
longer than that (a turn with a 6 s gap between events answered 500). Here commands time out
after `redis_socket_timeout`, blocking reads get connections of their own whose timeout is
longer than their block, both pools wait for a free connection (bounded) instead of failing
at once, connections are health-checked, and failed commands are retried with backoff.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agentdeck.settings import Settings

log = logging.getLogger("agentdeck.redis")

BLOCK_SECONDS = 10.0  # one blocking read waits at most this long; its socket a little longer
FAILURES = (RedisError, OSError)


class RedisLink:
    def __init__(self, settings: Settings) -> None:
        assert settings.redis_url
        common = {
            "socket_connect_timeout": settings.redis_connect_timeout_seconds,
            "health_check_interval": settings.redis_health_check_seconds,
            "retry": Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), retries=2),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        }
        self.client = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_max_connections,
                timeout=settings.redis_pool_timeout_seconds,
                socket_timeout=settings.redis_socket_timeout_seconds,
                **common,
            )
        )
        self.blocking = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_max_blocking_connections,
                timeout=settings.redis_pool_timeout_seconds,
                socket_timeout=BLOCK_SECONDS + 5,
                **common,
            )
        )
        self._down_until = 0.0
        self._last_warning = 0.0

    @property
    def up(self) -> bool:
        """False for a second after a failure: callers go straight to their degraded path."""
        return time.monotonic() >= self._down_until

    def failed(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + 1.0
        if now - self._last_warning >= 30:  # one warning per 30 s: an outage would flood the log
            self._last_warning = now
            log.warning("Redis %s failed, degraded until it answers again: %r", what, exc)

    async def close(self) -> None:
        await self.client.aclose()
        await self.blocking.aclose()
        await self.client.connection_pool.disconnect()
        await self.blocking.connection_pool.disconnect()
