"""What traces cost: the same sequential requests against a server with tracing off and one
exporting every span to a local OTLP/HTTP collector (which only counts them), side by side in one
run, alternating rounds so that drift hits both alike: the wall time per request a client sees
over loopback, and the server process's CPU time per request (its export thread included), which
other load on the machine disturbs less.

    .venv/bin/python -m bench.tracing [--requests 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized

import httpx
import psutil

from bench.server import PASSWORD, serve_process

HEALTH = {"query": "{ health { status } }"}
ENV = {"AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false"}


def _collect(port: multiprocessing.connection.Connection, received: Synchronized) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            size = len(self.rfile.read(int(self.headers.get("content-length", 0))))
            with received.get_lock():
                received.value += size
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port.send(httpd.server_address[1])
    httpd.serve_forever()


@contextlib.contextmanager
def collector() -> Iterator[tuple[str, Synchronized]]:
    """An OTLP/HTTP endpoint that accepts and drops every export, in a process of its own (in
    ours its threads would take the GIL from the client being timed); yields its URL and the
    count of bytes received so far."""
    ctx = multiprocessing.get_context("spawn")
    received = ctx.Value("q", 0)
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=_collect, args=(theirs, received), daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the collector did not start")
        yield f"http://127.0.0.1:{ours.recv()}", received
    finally:
        process.terminate()
        process.join(5)


def _token(client: httpx.Client) -> str:
    r = client.post(
        "/api/v1/auth/register",
        json={
            "email": f"bench-{time.monotonic_ns()}@example.com",
            "password": PASSWORD,
            "tenant_name": "Bench",
            "accept_terms": True,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["access_token"]


def _chunk(client: httpx.Client, server: psutil.Process, n: int, request) -> tuple[float, float]:
    """`n` sequential requests: (wall µs per request seen by the client, server CPU µs per request,
    its export thread included)."""
    cpu, start = server.cpu_times(), time.perf_counter()
    for _ in range(n):
        r = request(client)
        assert r.status_code == 200, r.text
    wall, after = time.perf_counter() - start, server.cpu_times()
    return wall / n * 1e6, (after.user + after.system - cpu.user - cpu.system) / n * 1e6


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def compare(n: int = 300, rounds: int = 5) -> None:
    kinds = {
        "GraphQL { health { status } }": lambda c: c.post("/graphql", json=HEALTH),
        # A tenant's request with SQL (session, tenant scoping, SELECTs).
        "REST GET /api/v1/conversations": lambda c: c.get("/api/v1/conversations"),
    }
    with contextlib.ExitStack() as stack:
        endpoint, received = stack.enter_context(collector())
        traced = {**ENV, "AGENTDECK_OTEL_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "500"}
        configs = {
            "off": ENV,
            "on": traced,
            # The standard sampler variables: a tenth of the traces, the rest not recorded.
            "on, 10%": {**traced, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
        }
        servers = {}
        for name, env in configs.items():
            base, pid = stack.enter_context(serve_process(env))
            servers[name] = (stack.enter_context(httpx.Client(base_url=base, timeout=30)), psutil.Process(pid))
        for client, server in servers.values():
            client.headers["Authorization"] = f"Bearer {_token(client)}"
            for request in kinds.values():  # warm: connections, caches, first-use imports
                _chunk(client, server, 50, request)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for i in range(rounds):
            for kind, request in kinds.items():
                order = list(servers)[i % len(servers) :] + list(servers)[: i % len(servers)]  # rotate who goes first
                for name in order:
                    results.setdefault((kind, name), []).append(_chunk(*servers[name], n, request))
        deadline = time.monotonic() + 5
        while not received.value and time.monotonic() < deadline:  # the first batch is due within 0.5 s
            time.sleep(0.05)
    print(
        f"\nTracing off vs on (spans exported over OTLP/HTTP to a local collector): {n} sequential requests "
        f"per round, median of {rounds} rounds; µs per request, and the ratio to off"
    )
    print(f"{'request':<32} {'':>12} " + " ".join(f"{name:>16}" for name in servers))
    for kind in kinds:
        for label, index in (("wall", 0), ("server CPU", 1)):
            us = {name: _median([r[index] for r in results[(kind, name)]]) for name in servers}
            cells = " ".join(f"{us[name]:>8.0f} {us[name] / us['off']:>6.2f}x" for name in servers)
            print(f"{kind if index == 0 else '':<32} {label:>12} {cells}")
    print(
        f"collector received {received.value / 1e6:.1f} MB of spans"
        if received.value
        else "collector received nothing: tracing did not export"
    )


async def run(n: int = 300, rounds: int = 5) -> None:
    await asyncio.to_thread(compare, n, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    compare(args.requests, args.rounds)
