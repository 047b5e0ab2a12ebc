"""Load: the latency tail of one server process under more clients than it can serve, with and
without back-pressure. Not part of `make bench` (it needs PostgreSQL + Redis and a minute):

    .venv/bin/python -m bench.load [--clients 200] [--seconds 20] [--caps 100000,32]

For each pair of caps (`AGENTDECK_MAX_REQUESTS_IN_FLIGHT` / `AGENTDECK_MAX_STREAMS`; 100000 =
effectively none) a fresh
server on a fresh PostgreSQL database and Redis gets `--clients` concurrent clients, each
looping for `--seconds` over a mix of chat turns, conversation lists and SSE chat streams
(the offline model at its default 15 ms a word; per-user chat limits raised so that they do not
shape the result). Reported per run: requests answered, 200s, 503s, other statuses and errors,
and p50/p99 of the answered requests, 200s and 503s apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

PASSWORD = "Correct-Horse-42-battery"
PG = "postgresql://postgres@127.0.0.1:5432"
USERS = 40  # clients share these accounts (registration costs a password hash each)


@dataclass
class Tally:
    ok: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    other: Counter = field(default_factory=Counter)
    lag: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _psql(db: str, sql: str) -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-qc", sql], check=True, capture_output=True, timeout=60)


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _loop(c: httpx.AsyncClient, token: str, conversation: str, deadline: float, tally: Tally) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random()
    while time.monotonic() < deadline:
        pick = rng.random()
        started = time.monotonic()
        try:
            if pick < 0.5:
                r = await c.get("/api/v1/conversations", headers=auth)
            elif pick < 0.85:
                r = await c.post("/api/v1/chat", headers=auth,
                                 json={"message": "how busy are you", "conversation_id": conversation})
            else:
                r = await c.post("/api/v1/chat/stream", headers=auth, json={"message": "stream me a reply"})
        except httpx.HTTPError as exc:
            tally.other[type(exc).__name__] += 1
            continue
        elapsed = time.monotonic() - started
        if r.status_code == 200:
            tally.ok.append(elapsed)
        elif r.status_code == 503:
            tally.busy.append(elapsed)
            await asyncio.sleep(float(r.headers.get("retry-after", "1")))  # as a polite client does
        else:
            tally.other[r.status_code] += 1


async def _loop_lag(deadline: float, tally: Tally) -> None:
    """How late this (the load generator's) event loop wakes up: its own delay is in every
    latency measured here, so it is reported beside them."""
    while time.monotonic() < deadline:
        started = time.monotonic()
        await asyncio.sleep(0.05)
        tally.lag.append(time.monotonic() - started - 0.05)


def _probe_health(port: int, deadline: float, tally: Tally) -> None:
    """`GET /health` on a new connection every 200 ms, from a thread of its own: how long the
    server takes to answer anything (accepting, parsing, its event loop's delay)."""
    while time.monotonic() < deadline:
        started = time.monotonic()
        with httpx.Client(timeout=60) as c:
            c.get(f"http://127.0.0.1:{port}/health")
        tally.health.append(time.monotonic() - started)
        time.sleep(0.2)


async def run_once(cap: int, streams: int, clients: int, seconds: float) -> Tally:
    db = f"agentdeck_load_{uuid.uuid4().hex[:10]}"
    _psql("test", f'CREATE DATABASE "{db}"')
    port = _port()
    var = tempfile.mkdtemp(prefix="agentdeck-load-")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
           "AGENTDECK_VAR_DIR": var, "AGENTDECK_PORT": str(port), "AGENTDECK_LOG_LEVEL": "warning",
           "AGENTDECK_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
           "AGENTDECK_AUTO_MIGRATE": "true", "AGENTDECK_REDIS_URL": "redis://127.0.0.1:6379/0",
           "AGENTDECK_REDIS_PREFIX": f"load-{uuid.uuid4().hex[:8]}:",
           "AGENTDECK_MAX_REQUESTS_IN_FLIGHT": str(cap), "AGENTDECK_MAX_STREAMS": str(streams),
           "AGENTDECK_CHAT_PER_MINUTE": "100000", "AGENTDECK_CHAT_STREAM_PER_MINUTE": "100000",
           "AGENTDECK_CHAT_STREAM_CONCURRENCY": "1000", "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck.cli", "serve"], env=env)  # noqa: ASYNC220 - set-up
    tally = Tally()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
            for _ in range(300):
                try:
                    if (await c.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            accounts = []
            for i in range(USERS):
                r = await c.post("/api/v1/auth/register", json={
                    "email": f"load-{i}@example.com", "password": PASSWORD, "tenant_name": f"Load {i}",
                    "accept_terms": True})
                token = r.json()["access_token"]
                first = await c.post("/api/v1/chat", headers={"Authorization": f"Bearer {token}"},
                                     json={"message": "hello"})
                accounts.append((token, first.json()["conversation_id"]))
            # A client of its own per simulated user, one connection each, made before the clock
            # starts: httpx's shared pool, and making clients, cost more than the server at 200.
            users = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, verify=False)
                     for _ in range(clients)]
            deadline = time.monotonic() + seconds
            lag = asyncio.create_task(_loop_lag(deadline, tally))
            health = asyncio.create_task(asyncio.to_thread(_probe_health, port, deadline, tally))
            await asyncio.gather(*(_loop(u, *accounts[i % USERS], deadline, tally) for i, u in enumerate(users)))
            await lag
            await health
            for u in users:
                await u.aclose()
    finally:
        proc.terminate()
        proc.wait(60)
        _psql("test", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return tally


def report(cap: str, seconds: float, t: Tally) -> None:
    answered = len(t.ok) + len(t.busy)
    print(f"caps {cap:>13}: {answered} answered ({answered / seconds:.0f}/s), {len(t.ok)} x 200 "
          f"(p50 {_quantile(t.ok, 0.5) * 1000:.0f} ms, p99 {_quantile(t.ok, 0.99) * 1000:.0f} ms), "
          f"{len(t.busy)} x 503 (p50 {_quantile(t.busy, 0.5) * 1000:.0f} ms, "
          f"p99 {_quantile(t.busy, 0.99) * 1000:.0f} ms), other {dict(t.other)}; "
          f"GET /health p50 {_quantile(t.health, 0.5) * 1000:.0f} ms, p99 {_quantile(t.health, 0.99) * 1000:.0f} ms; "
          f"load generator's loop lag p50 {_quantile(t.lag, 0.5) * 1000:.0f} ms, p99 {_quantile(t.lag, 0.99) * 1000:.0f} ms",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--caps", default="100000/100000,32/16", help="requests/streams, comma-separated")
    args = parser.parse_args()
    for caps in args.caps.split(","):
        requests, streams = (int(n) for n in caps.split("/"))
        report(caps, args.seconds, asyncio.run(run_once(requests, streams, args.clients, args.seconds)))


if __name__ == "__main__":
    main()
