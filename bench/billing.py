"""Billing: signed-webhook handling throughput and fan-out latency to 100 live SSE subscribers.

In-process ASGI (no network, no client in the measurement), SQLite, in-process bus. Reported in
one run: new events/s, duplicate deliveries/s (the idempotent path), and the time from a webhook
POST until every one of 100 connected `GET /billing/stream` subscribers has the frame.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import statistics
import tempfile
import time
import uuid
from typing import Any

import orjson

from bench.asgi import call

SECRET = "whsec_bench"
JSON = {"content-type": "application/json"}
PASSWORD = "Correct-Horse-42-battery"


def sign(payload: bytes, secret: str) -> str:
    t = int(time.time())
    return f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + payload, hashlib.sha256).hexdigest()}"


def _event(tenant_id: str, seats: int) -> bytes:
    now = int(time.time())
    obj = {
        "id": "sub_bench",
        "object": "subscription",
        "customer": "cus_bench",
        "status": "active",
        "cancel_at_period_end": False,
        "metadata": {"tenant_id": tenant_id, "plan_code": "pro"},
        "items": {
            "data": [
                {
                    "price": {"id": "price_agentdeck_pro"},
                    "quantity": seats,
                    "current_period_start": now,
                    "current_period_end": now + 86400 * 30,
                }
            ]
        },
    }
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": "customer.subscription.updated",
            "created": now,
            "data": {"object": obj},
        }
    ).encode()


async def _webhook(app: Any, raw: bytes) -> tuple[int, bytes]:
    return await call(app, "POST", "/webhooks/stripe", raw, {**JSON, "stripe-signature": sign(raw, SECRET)})


class Stream:
    """One open SSE response, driven in-process; `frames` counts complete `data:` frames."""

    def __init__(self, app: Any, token: str) -> None:
        self.frames = 0
        self.got = asyncio.Event()
        self.disconnect = asyncio.Event()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/v1/billing/stream",
            "raw_path": b"/api/v1/billing/stream",
            "query_string": b"",
            "root_path": "",
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))
        self._sent = False

    async def _receive(self) -> dict:
        if not self._sent:
            self._sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict) -> None:
        if message["type"] == "http.response.body" and message.get("body", b"").startswith(b"data: "):
            self.frames += 1
            self.got.set()

    async def close(self) -> None:
        self.disconnect.set()
        self.task.cancel()
        try:
            await self.task
        except BaseException:  # noqa: BLE001
            pass


async def _until_every_stream_receives(app: Any, tenant_id: str, streams: list[Stream], seconds: float = 60) -> None:
    """Readiness, not a fixed sleep: probe events until one reached every subscriber (a stream
    subscribes once its request runs, which a loaded machine may take a while to get to). Each
    stream receives events in order, so once all have the last probe no earlier one is in flight."""
    deadline = time.monotonic() + seconds
    for seats in itertools.count(1000):  # a change each time: an unchanged subscription publishes nothing
        for s in streams:
            s.got.clear()
        assert (await _webhook(app, _event(tenant_id, seats)))[0] == 202
        try:
            await asyncio.wait_for(asyncio.gather(*(s.got.wait() for s in streams)), 1)
            break
        except TimeoutError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"subscribers not ready after {seconds:.0f} s") from None
    for s in streams:
        s.frames = 0


async def run(n: int = 300, subscribers: int = 100, rounds: int = 20) -> None:
    tmp = tempfile.mkdtemp(prefix="agentdeck-bench-billing-")
    os.environ.update(
        {
            "AGENTDECK_VAR_DIR": tmp,
            "AGENTDECK_AUTO_MIGRATE": "true",
            "AGENTDECK_STRIPE_WEBHOOK_SECRET": SECRET,
            "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false",
            "AGENTDECK_BILLING_STREAM_CONCURRENCY": str(subscribers * 2),
            "AGENTDECK_BILLING_STREAM_PER_MINUTE": str(subscribers * 10),
            "AGENTDECK_MAX_STREAMS": str(subscribers * 2),  # the back-pressure bound admits them all
        }
    )
    from agentdeck.app import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        body = {
            "email": "billing-bench@example.com",
            "password": PASSWORD,
            "tenant_name": "Bench",
            "accept_terms": True,
        }
        status, raw = await call(app, "POST", "/api/v1/auth/register", orjson.dumps(body), JSON)
        assert status == 201, raw
        reg = orjson.loads(raw)
        tenant_id, token = reg["tenant_id"], reg["access_token"]

        payloads = [_event(tenant_id, i % 50 + 1) for i in range(n)]
        for p in payloads[:20]:  # warm-up
            assert (await _webhook(app, p))[0] == 202
        start = time.perf_counter()
        for p in payloads[20:]:
            status, out = await _webhook(app, p)
            assert status == 202 and b'"duplicate":false' in out, out
        new_rate = (n - 20) / (time.perf_counter() - start)
        start = time.perf_counter()
        for p in payloads[20:]:
            status, out = await _webhook(app, p)
            assert status == 202 and b'"duplicate":true' in out, out
        dup_rate = (n - 20) / (time.perf_counter() - start)

        # Fan-out (email verification is off above: the token comes straight from registration).
        streams = [Stream(app, token) for _ in range(subscribers)]
        await _until_every_stream_receives(app, tenant_id, streams)
        latencies = []
        for i in range(rounds):
            for s in streams:
                s.got.clear()
            t0 = time.perf_counter()
            status, out = await _webhook(app, _event(tenant_id, i + 1))
            assert status == 202, out
            await asyncio.wait_for(asyncio.gather(*(s.got.wait() for s in streams)), 10)
            latencies.append((time.perf_counter() - t0) * 1000)
        for s in streams:
            await s.close()
        assert all(s.frames == rounds for s in streams), [s.frames for s in streams][:5]

    print("\nBilling webhooks (signed, stored once, handled, published)")
    print(f"{'scenario':<48} {'events/s':>10}")
    print(f"{'new event (verify + store + apply + publish)':<48} {new_rate:>10.0f}")
    print(f"{'duplicate delivery (verify + idempotent answer)':<48} {dup_rate:>10.0f}")
    print(f"{'duplicate vs new':<48} {dup_rate / new_rate:>10.2f}x")
    lat = sorted(latencies)
    print(f"\nBilling stream fan-out: webhook POST → frame on all {subscribers} SSE subscribers ({rounds} rounds)")
    print(
        f"  median {statistics.median(lat):.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1]:.1f} ms, "
        f"max {lat[-1]:.1f} ms; {statistics.median(lat) * 1000 / subscribers:.0f} µs per subscriber (median)"
    )


if __name__ == "__main__":
    asyncio.run(run())
