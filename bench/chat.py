"""Chat: per-turn server overhead with the offline model, stream delivery rates, and listing
conversations through the REST layer vs /graphql.

- Turn overhead: `POST /api/v1/chat` wall time minus the offline model's own time (zero delay:
  the model costs only its token loop), i.e. persistence, stream bookkeeping and transport.
- Stream rates: one long offline reply (1,000 deltas) read over SSE and over a GraphQL
  subscription on a real uvicorn server (loopback), events per second.
- Listing 50 conversations: REST vs GraphQL, in-process ASGI.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import httpx
import orjson
import websockets
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bench.asgi import NO_COST_BUDGET, call, per_request_us, report
from bench.server import serve

PASSWORD = "Correct-Horse-42-battery"
JSON = {"content-type": "application/json"}
# The REST page's selection over GraphQL: what REST's items carry, GraphQL selects (its ids, agents
# as nodes, the preview kept with the conversation); `lastMessage` would read each message.
PAGE_GQL = orjson.dumps(
    {
        "query": "{ conversations(first: 50) { nodes { id databaseId displayName status messageCount "
        "createdAt updatedAt lastMessagePreview agent { key } activeAgent { key } } "
        "pageInfo { endCursor hasNextPage } } }"
    }
)


async def _register(app) -> str:
    body = {
        "email": f"bench-{time.monotonic_ns()}@example.com",
        "password": PASSWORD,
        "tenant_name": "Bench",
        "accept_terms": True,
    }
    status, raw = await call(app, "POST", "/api/v1/auth/register", orjson.dumps(body), JSON)
    assert status == 201, raw
    return orjson.loads(raw)["access_token"]


def offline_app():
    """A fresh in-process app on its own SQLite: offline model without delay, no chat rate limit."""
    tmp = tempfile.mkdtemp(prefix="agentdeck-bench-")
    os.environ.update(
        {
            "AGENTDECK_VAR_DIR": tmp,
            "AGENTDECK_AUTO_MIGRATE": "true",
            "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "0",
            "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false",
            "AGENTDECK_CHAT_PER_MINUTE": "100000",
            **NO_COST_BUDGET,
        }
    )
    from agentdeck.app import create_app

    return create_app()


async def in_process(turns: int = 100, lists: int = 300) -> None:
    app = offline_app()
    async with app.router.lifespan_context(app):
        token = await _register(app)
        auth = {"authorization": f"Bearer {token}", **JSON}
        chat = orjson.dumps({"message": "hello"})
        start = time.perf_counter()
        for _ in range(turns):
            status, raw = await call(app, "POST", "/api/v1/chat", chat, auth)
            assert status == 200, raw
        per_turn_ms = (time.perf_counter() - start) / turns * 1000
        print(
            f"\nChat turn (POST /api/v1/chat, offline model, no delay): {per_turn_ms:.1f} ms per turn of server "
            f"work ({turns} turns; the model itself is a few µs)"
        )

        for _ in range(60 - turns if turns < 60 else 0):
            await call(app, "POST", "/api/v1/chat", chat, auth)
        _, page = await call(app, "GET", "/api/v1/conversations", headers=auth, query="limit=50")
        items = orjson.loads(page)

        async def raw_list(_request):  # the limit: the same 50 items, encoded per request
            return Response(orjson.dumps(items), media_type="application/json")

        raw = Starlette(routes=[Route("/api/v1/conversations", raw_list)])
        rows = [
            (
                "raw Starlette route (same JSON, orjson)",
                await per_request_us(lambda: call(raw, "GET", "/api/v1/conversations"), lists),
            ),
            (
                "REST GET /api/v1/conversations?limit=50",
                await per_request_us(
                    lambda: call(app, "GET", "/api/v1/conversations", headers=auth, query="limit=50"), lists
                ),
            ),
            (
                "GraphQL conversations(first: 50)",
                await per_request_us(lambda: call(app, "POST", "/graphql", PAGE_GQL, auth), lists),
            ),
        ]
        report("Listing 50 conversations", rows, "raw Starlette route (same JSON, orjson)")
        base = dict(rows)
        print(
            f"  REST costs {base['REST GET /api/v1/conversations?limit=50'] / base[rows[0][0]]:.0f}x the raw route; "
            f"GraphQL has {base['REST GET /api/v1/conversations?limit=50'] / base['GraphQL conversations(first: 50)']:.2f}x "
            "REST's throughput on the same page"
        )


async def streams(words: int = 1000) -> None:
    env = {"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "0", "AGENTDECK_REQUIRE_EMAIL_VERIFICATION": "false"}
    with serve(env) as base:
        port = int(base.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            r = await client.post(
                "/api/v1/auth/register",
                json={"email": "s@example.com", "password": PASSWORD, "tenant_name": "Bench", "accept_terms": True},
            )
            token = r.json()["access_token"]
            message = " ".join(f"w{i}" for i in range(words))
            headers = {"Authorization": f"Bearer {token}"}
            start = time.perf_counter()
            count = 0
            async with client.stream("POST", "/api/v1/chat/stream", json={"message": message}, headers=headers) as resp:
                async for line in resp.aiter_lines():
                    count += line.startswith("data: ")
            sse_rate = count / (time.perf_counter() - start)

            query = (
                "subscription($i: SendMessageInput!) { chatStream(input: $i) { ... on StreamEventBase { eventId } "
                "... on MessageDeltaEvent { delta } ... on FinalEvent { kind } } }"
            )
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
                assert json.loads(await ws.recv())["type"] == "connection_ack"
                start = time.perf_counter()
                await ws.send(
                    json.dumps(
                        {
                            "type": "subscribe",
                            "id": "1",
                            "payload": {"query": query, "variables": {"i": {"message": message}}},
                        }
                    )
                )
                ws_count = 0
                while True:
                    msg = json.loads(await ws.recv())
                    if msg["type"] == "complete":
                        break
                    ws_count += msg["type"] == "next"
                ws_rate = ws_count / (time.perf_counter() - start)
        print(f"\nStreaming one {words}-word offline reply ({count} events) to one reader:")
        print(f"  SSE (POST /api/v1/chat/stream):           {sse_rate:8.0f} events/s")
        print(
            f"  GraphQL subscription (graphql-transport-ws): {ws_rate:8.0f} events/s  ({ws_rate / sse_rate:.2f}x SSE)"
        )


async def run() -> None:
    await in_process()
    await streams()
