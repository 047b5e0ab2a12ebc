"""Load on the production configuration: PostgreSQL + Redis, one server process, more clients
than it can serve. Part of `make bench` with `--seconds 20`; on its own:

    .venv/bin/python -m bench.load [--clients 200] [--seconds 60] [--caps 32,32 --caps 100000,100000]
                                   [--redis-outage 10]

Each client loops over a mix — a chat turn (`POST /api/v1/chat`), a conversation list, an SSE
chat stream (`POST /api/v1/chat/stream`) — as fast as the server answers, until the deadline; a
503 or 429 makes it back off 0.2 s. The offline model takes 15 ms per word, as on `make serve`.
For each pair of caps (`AGENTDECK_MAX_REQUESTS_IN_FLIGHT` / `AGENTDECK_MAX_STREAMS`; the defaults
are 32/32; 100000 = none) a fresh server on a fresh database prints: requests, statuses, 5xx and
failed connections, streams cut without their terminal event, p50/p99 per kind; then it checks
in the database that every accepted turn is stored exactly once and every conversation's
`message_count` equals its messages. With `--redis-outage N` the server gets a redis-server of
its own, killed a third of the way in and restarted N seconds later.

Runs only when PostgreSQL and Redis answer on 127.0.0.1 (it says so otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import time
import uuid
from collections import Counter, defaultdict

import httpx
import orjson

from bench.server import PASSWORD, serve

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
TERMINAL = {"final", "error"}


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _psql(dsn: str, sql: str) -> str:
    return subprocess.run(
        ["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True, text=True, timeout=60
    ).stdout


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.cut = 0
        self.streams = 0
        self.accepted: set[str] = set()

    def note(self, kind: str, status: int, seconds: float) -> None:
        self.statuses[f"{status // 100}xx" if status not in (429, 503) else str(status)] += 1
        self.latency[kind].append(seconds)


async def _user(client: httpx.AsyncClient, n: int) -> str:
    r = await client.post(
        "/api/v1/auth/register",
        headers={"X-Forwarded-For": f"10.1.{n // 250}.{n % 250}"},
        json={
            "email": f"load-{n}-{uuid.uuid4().hex[:6]}@example.com",
            "password": PASSWORD,
            "tenant_name": f"Load {n}",
            "accept_terms": True,
        },
    )
    r.raise_for_status()
    return r.json()["access_token"]


async def _client(base: str, token: str, i: int, deadline: float, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        n = i
        while time.monotonic() < deadline:
            n += 1
            kind = ("chat", "list", "stream")[n % 3]
            start = time.perf_counter()
            retry_after = 0.2
            try:
                if kind == "chat":
                    r = await client.post("/api/v1/chat", json={"message": f"question {n} from {i}"})
                    if r.status_code == 200:
                        tally.accepted.add(r.json()["conversation_id"])
                    status = r.status_code
                elif kind == "list":
                    r = await client.get("/api/v1/conversations", params={"limit": 50})
                    status = r.status_code
                else:
                    async with client.stream("POST", "/api/v1/chat/stream", json={"message": f"stream {n}"}) as r:
                        status, events = r.status_code, []
                        async for line in r.aiter_lines():
                            if line.startswith("data: "):
                                events.append(orjson.loads(line[6:]))
                    if status == 200:
                        tally.streams += 1
                        kinds = [e["kind"] for e in events]
                        if not kinds or kinds[-1] not in TERMINAL or sum(k in TERMINAL for k in kinds) != 1:
                            tally.cut += 1
                        elif kinds[-1] == "final":
                            tally.accepted.add(events[0]["conversation_id"])
                if status in (429, 503):
                    retry_after = float(r.headers.get("retry-after", retry_after))
            except httpx.HTTPError:
                status = 599  # the connection failed: counted as an error
            tally.note(kind, status, time.perf_counter() - start)
            if status in (429, 503):
                await asyncio.sleep(retry_after)  # the server said when: a polite client waits that long


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else 0.0


class RedisServer:
    """A redis-server of the benchmark's own, to kill and restart."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a short-lived helper process
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):  # readiness, not a fixed sleep: at most 10 s
            if _answers(self.port):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


async def _outage(redis: RedisServer, at: float, seconds: float, log: list[str]) -> None:
    await asyncio.sleep(at)
    redis.stop()
    log.append(f"Redis killed at {at:.0f} s")
    await asyncio.sleep(seconds)
    await redis.start()
    log.append(f"Redis back at {at + seconds:.0f} s")


async def load(clients: int, seconds: float, caps: tuple[int, int], outage: float = 0) -> None:
    db = f"agentdeck_load_{uuid.uuid4().hex[:10]}"
    _psql(PG_ADMIN, f'CREATE DATABASE "{db}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{db}"
    env = {
        "AGENTDECK_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
        "AGENTDECK_REDIS_URL": "redis://127.0.0.1:6379/0",
        "AGENTDECK_REDIS_PREFIX": f"load-{db}:",
        "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false",
        "AGENTDECK_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "AGENTDECK_CHAT_PER_MINUTE": "100000",
        "AGENTDECK_CHAT_STREAM_PER_MINUTE": "100000",
        "AGENTDECK_CHAT_STREAM_CONCURRENCY": "1000",
        "AGENTDECK_MAX_REQUESTS_IN_FLIGHT": str(caps[0]),
        "AGENTDECK_MAX_STREAMS": str(caps[1]),
    }
    redis, events = RedisServer(), []
    if outage:
        await redis.start()
        env["AGENTDECK_REDIS_URL"] = f"redis://127.0.0.1:{redis.port}/0"
    try:
        with serve(env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as setup:
                tokens = await asyncio.gather(*(_user(setup, n) for n in range(max(1, clients // 10))))
            tally = Tally()
            start = time.monotonic()
            deadline = start + seconds
            work = [_client(base, tokens[i % len(tokens)], i, deadline, tally) for i in range(clients)]
            if outage:
                work.append(_outage(redis, seconds / 3, outage, events))
            await asyncio.gather(*work)
            elapsed = time.monotonic() - start
        total = sum(tally.statuses.values())
        errors = tally.statuses["5xx"] + tally.statuses["599"]
        print(
            f"\nLoad: PostgreSQL + Redis, {clients} clients for {seconds:.0f} s, one process, caps "
            f"{caps[0]} requests / {caps[1]} streams" + (f"; {'; '.join(events)}" if events else "")
        )
        print(
            f"  requests: {total} in {elapsed:.0f} s ({total / elapsed:.0f}/s), {tally.statuses['2xx']} served "
            f"({tally.statuses['2xx'] / elapsed:.1f}/s); by status: {dict(tally.statuses)}"
        )
        print(
            f"  5xx and failed connections: {errors} ({errors / max(total, 1):.2%}); "
            f"streams cut without a terminal event: {tally.cut} of {tally.streams}"
        )
        for kind, values in sorted(tally.latency.items()):
            print(f"  {kind:<7} n={len(values):>6}  p50 {_pct(values, 0.5):8.0f} ms  p99 {_pct(values, 0.99):8.0f} ms")
        rows = _psql(
            dsn,
            "SELECT c.id, c.message_count, count(m.id) FROM conversations c "
            "LEFT JOIN conversation_messages m ON m.conversation_id = c.id GROUP BY c.id, c.message_count",
        )
        counts = {cid: (int(stored), int(real)) for cid, stored, real in (line.split("|") for line in rows.split())}
        wrong = [c for c in tally.accepted if counts.get(c, (0, 0))[1] != 2]
        drift = [c for c, (stored, real) in counts.items() if stored != real]
        print(
            f"  accepted turns stored exactly once (question + answer): {len(tally.accepted) - len(wrong)} of "
            f"{len(tally.accepted)}; conversations whose message_count is off: {len(drift)} of {len(counts)}"
        )
    finally:
        redis.stop()
        with contextlib.suppress(Exception):
            _psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


async def run(
    clients: int = 200, seconds: float = 20, caps: list[tuple[int, int]] | None = None, outage: float = 0
) -> None:
    if not (_answers(5432) and _answers(6379)):
        print(
            f"\nLoad (PostgreSQL + Redis, {clients} clients): skipped, PostgreSQL or Redis does not answer on 127.0.0.1"
        )
        return
    for pair in caps or [(32, 32)]:
        await load(clients, seconds, pair, outage)


def _caps(text: str) -> tuple[int, int]:
    requests, streams = text.split(",")
    return int(requests), int(streams)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--caps", type=_caps, action="append", help="requests,streams (repeatable)")
    parser.add_argument("--redis-outage", type=float, default=0, help="seconds Redis is down, a third of the way in")
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.seconds, args.caps, args.redis_outage))
