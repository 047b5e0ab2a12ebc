"""The performance bars, measured as the issue measured them: server CPU per request over real
uvicorn servers, each beside a raw Starlette route serving the same bytes in the same run.

    .venv/bin/python -m bench.targets        (the last part of `make bench`)

- 50-item conversation page and `GET /auth/me`: the agentdeck server's CPU time (user + system,
  read from /proc through psutil) over 32 keep-alive connections, divided by the requests; the raw
  route gets the same load. The client's own CPU is not counted, only the server's.
- GraphQL vs REST: the same page selected over /graphql, as a throughput ratio of CPU per request.
- Chat turn: server CPU per `POST /api/v1/chat`, offline model without delay (its token loop is
  a few µs), turns one after another.
- One stream: events per second of one 1,000-word offline reply read over SSE, on SQLite and, when
  they answer, on PostgreSQL + Redis.

Prints one table: each measurement, its bar, and whether it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.chat import PAGE_GQL
from bench.load import PG_ADMIN, _answers, _psql
from bench.server import PASSWORD, free_port, serve_process

CONNECTIONS = 32


@dataclass
class Bar:
    name: str
    measured: float
    bar: float
    unit: str
    higher_is_better: bool = False

    @property
    def holds(self) -> bool:
        return self.measured >= self.bar if self.higher_is_better else self.measured <= self.bar


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@contextlib.contextmanager
def _raw_route(body: bytes) -> Iterator[tuple[str, int]]:
    """A raw Starlette route serving `body` at every path, under the same uvicorn settings."""
    tmp = Path(tempfile.mkdtemp(prefix="agentdeck-bench-raw-"))
    (tmp / "body.json").write_bytes(body)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.raw_app:app",
            "--factory",
            "--port",
            str(port),
            "--loop",
            "asyncio",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, "BENCH_RAW_BODY": str(tmp / "body.json")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the raw route did not start")
            time.sleep(0.05)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


async def _cpu_per_request(
    base: str, pid: int, method: str, path: str, n: int, headers: dict[str, str], body: bytes | None = None
) -> float:
    """Server CPU µs per request, over CONNECTIONS connections; every answer is checked."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one() -> None:
            r = await client.request(method, path, headers=headers, content=body)
            assert r.status_code == 200 and b'"errors"' not in r.content[:2000], (r.status_code, r.text[:300])

        async def worker(count: int) -> None:
            for _ in range(count):
                await one()

        await asyncio.gather(*(worker(10) for _ in range(CONNECTIONS)))  # warm: connections, caches
        before = _cpu(pid)
        await asyncio.gather(*(worker(n // CONNECTIONS) for _ in range(CONNECTIONS)))
        return (_cpu(pid) - before) / (n // CONNECTIONS * CONNECTIONS) * 1e6


async def _register(client: httpx.AsyncClient) -> str:
    r = await client.post(
        "/api/v1/auth/register",
        json={
            "email": f"t{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD,
            "tenant_name": "Bench",
            "accept_terms": True,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["access_token"])


OFFLINE = {
    "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "0",
    "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false",
    "AGENTDECK_CHAT_PER_MINUTE": "1000000",
    "AGENTDECK_CHAT_STREAM_PER_MINUTE": "1000000",
    "AGENTDECK_GRAPHQL_TENANT_COST_PER_MINUTE": str(10**12),
    "AGENTDECK_MAX_REQUESTS_IN_FLIGHT": "1000",
}


async def reads(bars: list[Bar], n: int = 2000) -> None:
    with serve_process(OFFLINE) as (base, pid):
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            token = await _register(client)
            auth = {"Authorization": f"Bearer {token}"}
            before = _cpu(pid)
            turns = 100
            for _ in range(turns):
                r = await client.post("/api/v1/chat", json={"message": "hello"}, headers=auth)
                assert r.status_code == 200, r.text
            turn_ms = (_cpu(pid) - before) / turns * 1e3
            page = (await client.get("/api/v1/conversations?limit=50", headers=auth)).content
            me = (await client.get("/api/v1/auth/me", headers=auth)).content
        gql = {**auth, "content-type": "application/json"}
        rest_page = await _cpu_per_request(base, pid, "GET", "/api/v1/conversations?limit=50", n, auth)
        gql_page = await _cpu_per_request(base, pid, "POST", "/graphql", n, gql, PAGE_GQL)
        rest_me = await _cpu_per_request(base, pid, "GET", "/api/v1/auth/me", n, auth)
    with _raw_route(page) as (raw_base, raw_pid):
        raw_page = await _cpu_per_request(raw_base, raw_pid, "GET", "/api/v1/conversations?limit=50", n, {})
    with _raw_route(me) as (raw_base, raw_pid):
        raw_me = await _cpu_per_request(raw_base, raw_pid, "GET", "/api/v1/auth/me", n, {})
    print(
        f"\nServer CPU per request over {CONNECTIONS} connections: 50-conversation page REST {rest_page:.0f} µs, "
        f"GraphQL {gql_page:.0f} µs, raw route {raw_page:.0f} µs; /auth/me {rest_me:.0f} µs, raw route "
        f"{raw_me:.0f} µs; chat turn {turn_ms:.1f} ms"
    )
    bars += [
        Bar("50-item list, REST CPU / raw route CPU", rest_page / raw_page, 15, "×"),
        Bar("GET /auth/me CPU / raw route CPU", rest_me / raw_me, 6, "×"),
        Bar("GraphQL throughput / REST on the same page", rest_page / gql_page, 0.9, "×", higher_is_better=True),
        Bar("chat turn, server CPU (offline model, no delay)", turn_ms, 5, "ms"),
    ]


async def _stream_rate(env: dict[str, str], words: int = 1000, timed: int = 3) -> float:
    """Events per second of one `POST /chat/stream` echoing `words` deltas: the median of `timed`
    streams after one that warms the server (its first stream pays for imports, plans and
    caches). The body is read as bytes and its `data: ` frames counted, so that the client's
    own line splitting (httpx's `aiter_lines`, slower than the server here) is not measured."""
    with serve_process({**OFFLINE, **env}) as (base, _pid):
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            token = await _register(client)
            message = " ".join(f"w{i}" for i in range(words))
            rates = []
            for _ in range(1 + timed):
                start, count, tail = time.perf_counter(), 0, b"\n"
                async with client.stream(
                    "POST",
                    "/api/v1/chat/stream",
                    json={"message": message},
                    headers={"Authorization": f"Bearer {token}"},
                ) as r:
                    async for chunk in r.aiter_bytes():
                        # A frame starts a line; a chunk may end inside `\ndata: `, so the last
                        # bytes of the one before are searched with it (too few to hold one whole).
                        seen = tail + chunk
                        count += seen.count(b"\ndata: ")
                        tail = seen[-6:]
                assert count >= words, count
                rates.append(count / (time.perf_counter() - start))
            return statistics.median(rates[1:])


@contextlib.asynccontextmanager
async def _postgres_redis() -> AsyncIterator[dict[str, str]]:
    db = f"agentdeck_targets_{uuid.uuid4().hex[:10]}"
    _psql(PG_ADMIN, f'CREATE DATABASE "{db}"')
    try:
        yield {
            "AGENTDECK_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
            "AGENTDECK_REDIS_URL": "redis://127.0.0.1:6379/0",
            "AGENTDECK_REDIS_PREFIX": f"targets-{db}:",
        }
    finally:
        with contextlib.suppress(Exception):
            _psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


async def streams(bars: list[Bar]) -> None:
    sqlite = await _stream_rate({})
    bars.append(Bar("one stream on SQLite, events/s", sqlite, 20_000, "/s", higher_is_better=True))
    if not (_answers(5432) and _answers(6379)):
        print("\nOne stream on PostgreSQL + Redis: skipped, PostgreSQL or Redis does not answer on 127.0.0.1")
        return
    async with _postgres_redis() as env:
        production = await _stream_rate(env)
    bars.append(
        Bar("one stream on PostgreSQL + Redis / on SQLite", production / sqlite, 0.8, "×", higher_is_better=True)
    )


def table(bars: list[Bar]) -> None:
    print(f"\n{'Performance bars (bench/targets.py)':<56} {'measured':>10} {'bar':>10}  holds")
    for b in bars:
        sign = "≥" if b.higher_is_better else "≤"
        print(f"  {b.name:<54} {b.measured:>9.2f}{b.unit:<2} {sign}{b.bar:>8g}{b.unit:<2} {'yes' if b.holds else 'NO'}")


async def run() -> None:
    bars: list[Bar] = []
    await reads(bars)
    await streams(bars)
    table(bars)


if __name__ == "__main__":
    asyncio.run(run())
