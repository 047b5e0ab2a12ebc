"""Back-pressure: a process serves a bounded number of requests and of streams at once, and
answers anything beyond at once with 503 and `Retry-After` instead of queueing it.

Without a bound, a saturated process accepts everything and serves it all slowly: measured at
200 concurrent clients, one process served 10-16 requests/s with a p99 of 44 s, and requests
queued for a database connection until they failed. With one, the requests it takes are served
at the speed it has, the rest learn at once that they should come back (or go to another
process behind the load balancer).

Streams (the REST layer's Server-Sent Events routes and WebSocket connections) are counted
apart from requests: they stay open for minutes while costing little, so they would use up a
request bound, and they are bounded by their own. Health checks and `/metrics` are not
counted and never refused: a busy process is alive, and its metrics say how busy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from agentdeck.errors import BUSY_RETRY_AFTER_S
from agentdeck.metrics import LOAD_SHED, OPEN_STREAMS, REQUESTS_IN_FLIGHT

EXEMPT_PATHS = frozenset({"/health", "/health/ready", "/health/storage", "/metrics"})


def _busy_body(what: str) -> bytes:
    return orjson.dumps(
        {
            "success": False,
            "error": "ServiceUnavailable",
            "message": f"Server busy: too many {what} in progress. Retry after {BUSY_RETRY_AFTER_S}s.",
            "details": None,
        }
    )


_HEADERS = [(b"content-type", b"application/json"), (b"retry-after", str(BUSY_RETRY_AFTER_S).encode())]


class BackpressureMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_requests: int,
        max_streams: int,
        stream_routes: Iterable[tuple[str, re.Pattern[str]]] = (),
    ) -> None:
        self.app = app
        self.max_requests = max_requests
        self.max_streams = max_streams
        # (method, path regex) of the HTTP routes that answer with a stream.
        self.stream_routes = tuple(stream_routes)
        # One event loop per process: plain counters, changed only between awaits.
        self.requests = 0
        self.streams = 0

    def _is_stream(self, scope: Scope) -> bool:
        if scope["type"] == "websocket":
            return True
        method, path = scope["method"], scope["path"]
        return any(m == method and pattern.match(path) for m, pattern in self.stream_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._is_stream(scope):
            if self.streams >= self.max_streams:
                LOAD_SHED.labels("stream").inc()
                await _refuse(scope, receive, send, "streams")
                return
            self.streams += 1
            OPEN_STREAMS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                self.streams -= 1
                OPEN_STREAMS.dec()
            return
        if self.requests >= self.max_requests:
            LOAD_SHED.labels("request").inc()
            await _refuse(scope, receive, send, "requests")
            return
        self.requests += 1
        REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.requests -= 1
            REQUESTS_IN_FLIGHT.dec()


async def _refuse(scope: Scope, receive: Receive, send: Send, what: str) -> None:
    """503 in the documented envelope. A WebSocket handshake gets the same HTTP answer where
    the server can send one (uvicorn can), otherwise it is closed with 1013 (try again later)."""
    body = _busy_body(what)
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 503, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": body})
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client left before its handshake was answered
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 503, "headers": _HEADERS})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1013})
