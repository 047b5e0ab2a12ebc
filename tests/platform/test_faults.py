"""Faults the production configuration must survive: Redis slow, dying and returning; a server
killed in the middle of a turn. Each has a defined outcome: no 5xx while the database is up,
no write lost or doubled, and every stream a client opens ends with exactly one terminal event.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentdeck.providers.bus import RedisBus
from agentdeck.providers.redis_link import RedisLink
from agentdeck.settings import Settings
from tests.harness import (
    REDIS_URL,
    Server,
    free_port,
    fresh_database,
    needs_postgres,
    needs_postgres_redis,
    needs_redis,
    start_server,
)
from tests.users import register, run_sql

TERMINAL = {"final", "error"}


def sse_payloads(lines: Iterator[str]) -> Iterator[dict]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[6:])


class RedisProcess:
    """A redis-server of the test's own, on a spare port, to kill and bring back."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.tmp = free_port(), tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisProcess]:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        if redis.process is not None and redis.process.poll() is None:
            redis.kill()


# -- Redis used correctly -------------------------------------------------------------------------


@needs_redis
async def test_a_reader_waits_out_a_gap_longer_than_the_redis_clients_default_timeout():
    """redis-py 8 times every read out after 5 s: a blocking XREAD across a 6 s gap used to fail."""
    prefix = f"gap-{uuid.uuid4().hex[:8]}:"
    writer, reader = (RedisBus(RedisLink(Settings(redis_url=REDIS_URL)), prefix) for _ in range(2))
    try:
        await writer.append("s", 1, {"event_id": 1, "kind": "delta"})
        seen = []

        async def read() -> None:
            async for message in reader.replay("s", 0, wait_s=30):
                seen.append(message["event_id"])

        reading = asyncio.create_task(read())
        await asyncio.sleep(6)
        await writer.append("s", 2, {"event_id": 2, "kind": "final"}, final=True)
        await asyncio.wait_for(reading, 5)
        assert seen == [1, 2]
    finally:
        for bus in (writer, reader):
            await bus.close()
            await bus.link.close()


@needs_postgres
def test_a_redis_outage_loses_no_turn_and_cuts_no_stream(tmp_path, own_redis):
    """Chat, streams and lists go on while Redis is down (degraded, in-process); every stream
    ends with its terminal event; every accepted turn is stored once; Redis is used again when
    it returns."""
    env = {
        "AGENTDECK_REDIS_URL": own_redis.url,
        "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "20",
        "AGENTDECK_CHAT_PER_MINUTE": "10000",
        "AGENTDECK_CHAT_STREAM_PER_MINUTE": "10000",
        "AGENTDECK_CHAT_STREAM_CONCURRENCY": "100",
        "AGENTDECK_REDIS_CONNECT_TIMEOUT_SECONDS": "0.5",
    }
    with fresh_database("postgres", tmp_path) as url:
        srv = start_server(tmp_path, backend="postgres", database_url=url, env=env)
        try:
            owner = register(srv, verified=True)
            headers = {"Authorization": f"Bearer {owner.access_token}"}
            statuses: list[int] = []
            cut: list[str] = []
            accepted: set[str] = set()

            def one(i: int) -> None:
                with httpx.Client(base_url=srv.base_url, timeout=60, headers=headers) as client:
                    if i % 3 == 0:
                        r = client.get("/api/v1/conversations", params={"limit": 10})
                        statuses.append(r.status_code)
                    elif i % 3 == 1:
                        r = client.post("/api/v1/chat", json={"message": f"turn {i}"})
                        statuses.append(r.status_code)
                        if r.status_code == 200:
                            accepted.add(r.json()["conversation_id"])
                    else:
                        with client.stream("POST", "/api/v1/chat/stream", json={"message": f"stream {i}"}) as r:
                            statuses.append(r.status_code)
                            events = list(sse_payloads(r.iter_lines()))
                        kinds = [e["kind"] for e in events]
                        if sum(k in TERMINAL for k in kinds) != 1 or kinds[-1] not in TERMINAL:
                            cut.append(f"stream {i}: {kinds[-3:]}")
                        elif events:
                            accepted.add(events[0]["conversation_id"])

            with concurrent.futures.ThreadPoolExecutor(12) as pool:
                phase = [pool.submit(one, i) for i in range(24)]
                time.sleep(0.5)
                own_redis.kill()  # mid-load
                phase += [pool.submit(one, i) for i in range(24, 72)]
                time.sleep(2)
                own_redis.start()
                phase += [pool.submit(one, i) for i in range(72, 96)]
                for future in phase:
                    future.result()
            assert [s for s in statuses if s >= 500] == [], statuses
            assert cut == []
            # Every accepted turn stored exactly once: its question and its answer.
            rows = run_sql(srv, "SELECT conversation_id, count(*) FROM conversation_messages GROUP BY conversation_id")
            counts = {str(c): n for c, n in rows}
            assert {c: counts.get(c) for c in accepted} == dict.fromkeys(accepted, 2)
            # Redis is in use again: a stream read from another process would find it there.
            r = srv.rest("POST", "/api/v1/chat", token=owner.access_token, json={"message": "after"})
            assert r.status_code == 200
            stream_id = r.json()["metadata"]["stream_id"]

            async def length() -> int:
                link = RedisLink(Settings(redis_url=own_redis.url))
                try:
                    for _ in range(50):
                        keys = [k async for k in link.client.scan_iter(match=f"*stream:{stream_id}")]
                        if keys:
                            return await link.client.xlen(keys[0])
                        await asyncio.sleep(0.1)
                    return 0
                finally:
                    await link.close()

            assert asyncio.run(length()) > 2
        finally:
            srv.stop()


# -- a server killed mid-turn ---------------------------------------------------------------------


def _backends():
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param("postgres", id="postgres", marks=needs_postgres_redis)


@pytest.mark.parametrize("backend_name", _backends())
def test_a_turn_whose_server_was_killed_ends_for_every_reader(tmp_path, backend_name):
    env = {"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "150", "AGENTDECK_RUN_HEARTBEAT_SECONDS": "0.2"}
    with fresh_database(backend_name, tmp_path) as url:
        first = start_server(tmp_path, backend=backend_name, database_url=url, env=env)
        try:
            owner = register(first, verified=True)
            seen: list[dict] = []
            with (
                httpx.Client(base_url=first.base_url, timeout=30) as client,
                client.stream(
                    "POST",
                    "/api/v1/chat/stream",
                    json={"message": " ".join(f"w{i}" for i in range(200))},
                    headers={"Authorization": f"Bearer {owner.access_token}"},
                ) as r,
            ):
                for event in sse_payloads(r.iter_lines()):
                    seen.append(event)
                    if len(seen) == 6:
                        first.process.kill()  # no shutdown handler runs: the turn stays "running"
                        first.process.wait(10)
                        break
        finally:
            if first.process.poll() is None:
                first.process.kill()
        stream_id, last = seen[0]["stream_id"], seen[-1]["event_id"]
        second = start_server(tmp_path, backend=backend_name, database_url=url, env=env)
        try:
            _the_turn_is_failed(second, owner.access_token, stream_id, last)
        finally:
            second.stop()


def _the_turn_is_failed(srv: Server, token: str, stream_id: str, last: int) -> None:
    deadline = time.monotonic() + 15
    while run_sql(srv, f"SELECT status FROM chat_runs WHERE stream_id = '{stream_id}'") != [("failed",)]:
        assert time.monotonic() < deadline, "the orphaned turn was not failed"
        time.sleep(0.1)
    # Resuming over SSE ends with exactly one terminal event: the interruption.
    r = srv.rest("GET", f"/api/v1/chat/streams/{stream_id}", token=token, headers={"Last-Event-ID": str(last)})
    assert r.status_code == 200
    events = list(sse_payloads(iter(r.text.splitlines())))
    assert [e["kind"] for e in events][-1:] == ["error"] and sum(e["kind"] in TERMINAL for e in events) == 1
    assert events[-1]["error"]["code"] == "interrupted" and events[-1]["event_id"] > last
    # And over GraphQL: the subscription delivers it and completes, no "Unexpected error.".
    query = "subscription($s: String!, $a: Int!) { chatEvents(streamId: $s, afterEventId: $a) { __typename ... on StreamEventBase { eventId } ... on ErrorEvent { error { code } } } }"
    with srv.subscription(query, {"s": stream_id, "a": last}, token=token) as sub:
        payload = sub.next(timeout=10)
        assert "errors" not in payload, payload
        event = payload["data"]["chatEvents"]
        assert event["__typename"] == "ErrorEvent" and event["error"]["code"] == "interrupted", event
        assert sub.recv(timeout=10)["type"] == "complete"
