"""Drive an ASGI app in-process: server CPU per request, without a network or a client in
the measurement. Ratios between apps measured this way, in one run, are what we report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

# A benchmark sends thousands of operations a minute from one tenant: the per-minute GraphQL cost
# budget stays on (its check is part of a request's cost) but high enough never to trip.
NO_COST_BUDGET = {"AGENTDECK_GRAPHQL_TENANT_COST_PER_MINUTE": str(10**12)}


async def call(
    app: Any, method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = ""
) -> tuple[int, bytes]:
    hdrs = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if body:
        hdrs.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": hdrs,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def answered(result: tuple[int, bytes]) -> None:
    """A timed call must be the success it claims to be: a 2xx, and no GraphQL `errors` (an
    error answer is fast, and once timed a budget or a rate limit that trips says nothing)."""
    status, body = result
    assert 200 <= status < 300 and b'"errors"' not in body[:200_000], (status, body[:300])


async def per_request_us(make_call: Callable[[], Any], n: int, rounds: int = 3) -> float:
    """Median over `rounds` of the mean time per call, in microseconds; the first and the last
    call of every round are checked with `answered`."""
    for _ in range(min(n, 200)):  # warm caches
        await make_call()
    results = []
    for _ in range(rounds):
        answered(await make_call())
        start = time.perf_counter()
        for _ in range(n):
            last = await make_call()
        results.append((time.perf_counter() - start) / n * 1e6)
        answered(last)
    return sorted(results)[len(results) // 2]


def report(title: str, rows: list[tuple[str, float]], baseline: str) -> None:
    base = dict(rows)[baseline]
    print(f"\n{title}")
    print(f"{'scenario':<48} {'µs/req':>10} {'req/s':>10} {'vs ' + baseline:>22}")
    for name, us in rows:
        print(f"{name:<48} {us:>10.1f} {1e6 / us:>10.0f} {base / us:>22.3f}")
