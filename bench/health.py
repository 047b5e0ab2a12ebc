"""GET /health through the REST layer vs the same field over /graphql vs a raw Starlette route."""

from __future__ import annotations

import os
import tempfile

import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bench.asgi import NO_COST_BUDGET, call, per_request_us, report


async def run(n: int = 2000) -> None:
    tmp = tempfile.mkdtemp(prefix="agentdeck-bench-")
    os.environ.update({"AGENTDECK_VAR_DIR": tmp, "AGENTDECK_AUTO_MIGRATE": "false", **NO_COST_BUDGET})
    from agentdeck.app import create_app

    app = create_app()
    payload = {"status": "healthy", "timestamp": "2026-01-01T00:00:00", "version": "0.1.0", "uptime": 1.0}

    async def raw_health(_request):
        return Response(orjson.dumps(payload), media_type="application/json")

    raw = Starlette(routes=[Route("/health", raw_health)])
    query = orjson.dumps({"query": "{ health { status checkedAt version uptimeSeconds } }"})
    gql_headers = {"content-type": "application/json"}

    for status, _ in [
        await call(raw, "GET", "/health"),
        await call(app, "GET", "/health"),
        await call(app, "POST", "/graphql", query, gql_headers),
    ]:
        assert status == 200, status

    rows = [
        ("raw Starlette route (orjson)", await per_request_us(lambda: call(raw, "GET", "/health"), n)),
        ("REST GET /health (generated route)", await per_request_us(lambda: call(app, "GET", "/health"), n)),
        (
            "GraphQL POST /graphql { health {...} }",
            await per_request_us(lambda: call(app, "POST", "/graphql", query, gql_headers), n),
        ),
    ]
    report(
        "GET /health: server CPU per request, in-process ASGI (higher ratio = faster)",
        rows,
        "raw Starlette route (orjson)",
    )
    rest, gql = rows[1][1], rows[2][1]
    print(f"REST layer vs /graphql for the same field: {gql / rest:.2f}x the throughput")
