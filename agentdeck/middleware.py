"""Pure ASGI middleware: request ids and timing, per-route metrics, and the body-size bound."""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.metrics import HTTP_LATENCY, HTTP_REQUESTS

# The request being served: set by `RequestMiddleware`, read by logs and masked errors so that
# a client quoting its `X-Correlation-ID` leads to the server's lines about that request.
correlation_id: ContextVar[str] = ContextVar("correlation_id", default="-")


class BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> bytes:
    return orjson.dumps(
        {
            "success": False,
            "error": "PayloadTooLarge",
            "message": f"Request body exceeds {limit} bytes.",
            "details": None,
        }
    )


class RequestMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, unbounded_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body = max_body_bytes
        # Routes that bound their own bodies (signed uploads enforce the signed size).
        self.unbounded = unbounded_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = uuid.uuid4().hex
        correlation_id.set(request_id)
        if scope["type"] != "http":  # a WebSocket connection keeps one id for its lifetime
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", request_id.encode()))
                headers.append((b"x-process-time", f"{time.perf_counter() - start:.6f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        if self.unbounded and scope["path"].startswith(self.unbounded):
            limit = None
        else:
            limit = self.max_body
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    raise BodyTooLarge
            return message

        declared = _content_length(scope)
        try:
            if limit is not None and declared is not None and declared > limit:
                raise BodyTooLarge
            await self.app(scope, receive_limited, send_wrapper)
        except BodyTooLarge:
            if started:
                raise
            await send_wrapper(
                {"type": "http.response.start", "status": 413,
                 "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]}
            )
            await send_wrapper({"type": "http.response.body", "body": _too_large(self.max_body)})
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, label, str(status)).inc()
            HTTP_LATENCY.labels(method, label).observe(time.perf_counter() - start)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
