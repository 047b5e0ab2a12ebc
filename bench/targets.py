"""The performance bars, measured as the issue measured them: server CPU per request over real
uvicorn servers, each beside a raw Starlette route serving the same bytes in the same run.

    .venv/bin/python -m bench.targets        (the last part of `make bench`)

- 50-item conversation page and `GET /auth/me`: the agentdeck server's CPU time (every thread's,
  from /proc/<pid>/task/*/schedstat, in ns) over 32 keep-alive connections, divided by the
  requests; the raw route gets the same load. The client's own CPU is not counted, only the
  server's.
- GraphQL vs REST: the same page selected over /graphql, as a throughput ratio of CPU per request.
- Chat turn: server CPU per `POST /api/v1/chat`, offline model without delay (its token loop is
  a few µs), turns one after another.
- One stream: events per second of one 1,000-word offline reply read over SSE, on SQLite and, when
  they answer, on PostgreSQL + Redis.
- Fan-out: 1,000 `GET /billing/stream` subscribers of one tenant, each on its own connection; a
  signed billing webhook's event, from the POST until each subscriber has read its frame, p99
  over every subscriber of every round (the subscribers are read by this one client process,
  whose own reading is in the figure).

The servers compared run side by side, and the measurements alternate between them in rounds:
each ratio is the median of its rounds' ratios. This machine's speed drifts by tens of percent
from one minute to the next (a shared VM); measured one after the other, a ratio moved with it.

Prints one table: each measurement, its bar, and whether it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import psutil

from bench.billing import SECRET, _event, sign
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
    """Seconds of CPU the process has used, all its threads: the scheduler's nanosecond count where
    /proc has it (psutil's user + system times tick in 10 ms steps, as coarse as a round of the
    raw route's requests)."""
    try:
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(FileNotFoundError), open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except FileNotFoundError:
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


@dataclass
class Load:
    """One kind of request to one server: its CPU per request is measured over CONNECTIONS
    connections, every answer checked."""

    client: httpx.AsyncClient
    pid: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None

    async def _requests(self, each: int) -> None:
        async def one() -> None:
            r = await self.client.request(self.method, self.path, headers=self.headers, content=self.body)
            assert r.status_code == 200 and b'"errors"' not in r.content[:2000], (r.status_code, r.text[:300])

        async def worker() -> None:
            for _ in range(each):
                await one()

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))

    async def warm(self) -> None:  # connections, caches, plans
        await self._requests(10)

    async def cpu_per_request(self, n: int) -> float:
        """Server CPU µs per request over `n` requests."""
        each = max(n // CONNECTIONS, 1)
        before = _cpu(self.pid)
        await self._requests(each)
        return (_cpu(self.pid) - before) / (each * CONNECTIONS) * 1e6


@contextlib.asynccontextmanager
async def _client(base: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        yield client


async def _register(client: httpx.AsyncClient) -> str:
    return str((await _registration(client))["access_token"])


async def _registration(client: httpx.AsyncClient) -> dict[str, Any]:
    """A new tenant's owner, as `POST /auth/register` answers (tokens, tenant and user ids)."""
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
    return cast("dict[str, Any]", r.json())


OFFLINE = {
    "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "0",
    "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false",
    "AGENTDECK_CHAT_PER_MINUTE": "1000000",
    "AGENTDECK_CHAT_STREAM_PER_MINUTE": "1000000",
    "AGENTDECK_GRAPHQL_TENANT_COST_PER_MINUTE": str(10**12),
    "AGENTDECK_MAX_REQUESTS_IN_FLIGHT": "1000",
}


async def reads(bars: list[Bar], n: int = 2000, rounds: int = 5) -> None:
    """`n` requests of each kind, in `rounds` alternating between agentdeck and the raw routes."""
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
        with _raw_route(page) as (raw_page_base, raw_page_pid), _raw_route(me) as (raw_me_base, raw_me_pid):
            async with (
                _client(base) as ours,
                _client(raw_page_base) as raw_page_client,
                _client(raw_me_base) as raw_me_client,
            ):
                loads = {
                    "rest": Load(ours, pid, "GET", "/api/v1/conversations?limit=50", auth),
                    "graphql": Load(ours, pid, "POST", "/graphql", gql, PAGE_GQL),
                    "raw": Load(raw_page_client, raw_page_pid, "GET", "/api/v1/conversations?limit=50", {}),
                    "me": Load(ours, pid, "GET", "/api/v1/auth/me", auth),
                    "raw_me": Load(raw_me_client, raw_me_pid, "GET", "/api/v1/auth/me", {}),
                }
                for load in loads.values():
                    await load.warm()
                us: dict[str, list[float]] = {name: [] for name in loads}
                for _ in range(rounds):
                    for name, load in loads.items():
                        us[name].append(await load.cpu_per_request(n // rounds))

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(us[a], us[b], strict=True))

    median = {name: statistics.median(values) for name, values in us.items()}
    print(
        f"\nServer CPU per request over {CONNECTIONS} connections (medians of {rounds} rounds): 50-conversation "
        f"page REST {median['rest']:.0f} µs, GraphQL {median['graphql']:.0f} µs, raw route {median['raw']:.0f} µs; "
        f"/auth/me {median['me']:.0f} µs, raw route {median['raw_me']:.0f} µs; chat turn {turn_ms:.1f} ms"
    )
    bars += [
        Bar("50-item list, REST CPU / raw route CPU", ratio("rest", "raw"), 15, "×"),
        Bar("GET /auth/me CPU / raw route CPU", ratio("me", "raw_me"), 6, "×"),
        Bar("GraphQL throughput / REST on the same page", ratio("rest", "graphql"), 0.9, "×", higher_is_better=True),
        Bar("chat turn, server CPU (offline model, no delay)", turn_ms, 5, "ms"),
    ]


class StreamRate:
    """Events per second of one `POST /chat/stream` echoing `words` deltas from one server. The
    body is read as bytes and its `data: ` frames counted, so that the client's own line
    splitting (httpx's `aiter_lines`, slower than the server here) is not measured."""

    def __init__(self, client: httpx.AsyncClient, token: str, words: int) -> None:
        self.client, self.token, self.words = client, token, words
        self.message = " ".join(f"w{i}" for i in range(words))

    async def __call__(self) -> float:
        start, count, tail = time.perf_counter(), 0, b"\n"
        async with self.client.stream(
            "POST",
            "/api/v1/chat/stream",
            json={"message": self.message},
            headers={"Authorization": f"Bearer {self.token}"},
        ) as r:
            async for chunk in r.aiter_bytes():
                # A frame starts a line; a chunk may end inside `\ndata: `, so the last bytes
                # of the one before are searched with it (too few to hold one whole).
                seen = tail + chunk
                count += seen.count(b"\ndata: ")
                tail = seen[-6:]
        assert count >= self.words, count
        return count / (time.perf_counter() - start)


@contextlib.asynccontextmanager
async def _stream_rate(env: dict[str, str], words: int = 1000) -> AsyncIterator[StreamRate]:
    """A server run with `env` and its stream, after one stream that warms it (the first pays for
    imports, plans and caches)."""
    with serve_process({**OFFLINE, **env}) as (base, _pid):
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            rate = StreamRate(client, await _register(client), words)
            await rate()
            yield rate


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


async def streams(bars: list[Bar], rounds: int = 5) -> None:
    """Streams on SQLite and on PostgreSQL + Redis (when they answer), from two servers run side
    by side, alternating: the rate is the median of SQLite's, the ratio the median of the rounds'."""
    production = _answers(5432) and _answers(6379)
    async with contextlib.AsyncExitStack() as stack:
        sqlite = await stack.enter_async_context(_stream_rate({}))
        if production:
            env = await stack.enter_async_context(_postgres_redis())
            postgres_redis = await stack.enter_async_context(_stream_rate(env))
        rates: list[float] = []
        ratios: list[float] = []
        for _ in range(rounds):
            rates.append(await sqlite())
            if production:
                ratios.append(await postgres_redis() / rates[-1])
    bars.append(Bar("one stream on SQLite, events/s", statistics.median(rates), 20_000, "/s", higher_is_better=True))
    if not production:
        print("\nOne stream on PostgreSQL + Redis: skipped, PostgreSQL or Redis does not answer on 127.0.0.1")
        return
    bars.append(
        Bar(
            "one stream on PostgreSQL + Redis / on SQLite",
            statistics.median(ratios),
            0.8,
            "×",
            higher_is_better=True,
        )
    )


def table(bars: list[Bar]) -> None:
    print(f"\n{'Performance bars (bench/targets.py)':<56} {'measured':>10} {'bar':>10}  holds")
    for b in bars:
        sign = "≥" if b.higher_is_better else "≤"
        print(f"  {b.name:<54} {b.measured:>9.2f}{b.unit:<2} {sign}{b.bar:>8g}{b.unit:<2} {'yes' if b.holds else 'NO'}")


class Subscriber:
    """One `GET /api/v1/billing/stream` on a raw connection: the times its `data:` frames arrived."""

    def __init__(self) -> None:
        self.frames: list[float] = []
        self.got = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, host: str, port: int, token: str) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        self.writer.write(
            f"GET /api/v1/billing/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        self.task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            # A chunk-size line, then the frame's own lines: a frame's first line starts `data: `.
            if line.startswith(b"data: "):
                self.frames.append(time.perf_counter())
                self.got.set()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


async def fanout(bars: list[Bar], subscribers: int = 1000, rounds: int = 10) -> None:
    """The billing stream's fan-out to `subscribers` connections of one tenant (see the module's
    docstring): p99 of POST → frame read, over every subscriber of every round."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * subscribers:  # a socket each on both sides, and the server's own files
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * subscribers), hard))
    env = {
        **OFFLINE,
        "AGENTDECK_STRIPE_WEBHOOK_SECRET": SECRET,
        "AGENTDECK_BILLING_STREAM_CONCURRENCY": str(2 * subscribers),
        "AGENTDECK_BILLING_STREAM_PER_MINUTE": str(10 * subscribers),
        "AGENTDECK_MAX_STREAMS": str(2 * subscribers),
    }
    with serve_process(env) as (base, _pid):
        host, port = base.removeprefix("http://").split(":")
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            owner = await _registration(client)
            token, tenant = owner["access_token"], owner["tenant_id"]
            seats = iter(range(1, 10_000))  # a change each time: an unchanged subscription publishes nothing

            async def webhook() -> None:
                raw = _event(tenant, next(seats))
                r = await client.post(
                    "/webhooks/stripe",
                    content=raw,
                    headers={"content-type": "application/json", "stripe-signature": sign(raw, SECRET)},
                )
                assert r.status_code == 202, r.text

            subs = [Subscriber() for _ in range(subscribers)]
            try:
                for i in range(0, subscribers, 100):  # a hundred at a time: the server's accept queue
                    await asyncio.gather(*(s.open(host, int(port), token) for s in subs[i : i + 100]))
                # Readiness: an event every subscriber read (each is subscribed once its stream runs).
                deadline = time.monotonic() + 60
                while True:
                    for s in subs:
                        s.got.clear()
                    await webhook()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.gather(*(s.got.wait() for s in subs)), 2)
                        break
                    assert time.monotonic() < deadline, "subscribers not ready after 60 s"
                latencies: list[float] = []
                for _ in range(rounds):
                    for s in subs:
                        s.got.clear()
                        s.frames.clear()
                    start = time.perf_counter()
                    await webhook()
                    await asyncio.wait_for(asyncio.gather(*(s.got.wait() for s in subs)), 30)
                    latencies += [(s.frames[0] - start) * 1000 for s in subs]
            finally:
                for s in subs:
                    s.close()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"\nBilling fan-out to {subscribers} SSE subscribers ({rounds} rounds): POST → frame read, median "
        f"{statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"
    )
    bars.append(Bar(f"fan-out to {subscribers} subscribers, p99", p99, 100, "ms"))


async def run() -> None:
    bars: list[Bar] = []
    await reads(bars)
    await streams(bars)
    await fanout(bars)
    table(bars)


if __name__ == "__main__":
    asyncio.run(run())
