"""The limit a route can reach under uvicorn: a Starlette route answering the file named by
BENCH_RAW_BODY (the bytes agentdeck served for the same request) at every path, encoded per
request as agentdeck encodes its answers."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def app() -> Starlette:
    data = orjson.loads(Path(os.environ["BENCH_RAW_BODY"]).read_bytes())

    async def answer(_request: Request) -> Response:
        return Response(orjson.dumps(data), media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
