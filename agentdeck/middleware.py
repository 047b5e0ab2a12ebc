"""Pure ASGI middleware: request ids and timing, the access log, per-route metrics, the last
resort for faults, and the body-size bound."""

from __future__ import annotations

import logging
import time
import uuid

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentdeck.errors import as_unavailable
from agentdeck.logs import correlation_id, log_client_error, log_fault, tenant
from agentdeck.metrics import HTTP_LATENCY, HTTP_REQUESTS, method_label
from agentdeck.rest_compat.errors import envelope, internal_error

__all__ = ["RequestMiddleware", "correlation_id"]

access_log = logging.getLogger("agentdeck.access")
MAX_LOGGED_PATH = 256  # unmatched paths are the client's free text


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
        if scope["type"] not in ("http", "websocket"):  # lifespan: not a request
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        correlation_id.set(request_id)
        tenant.set("-")
        if scope["type"] == "websocket":  # a connection keeps one id for its lifetime
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
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": _too_large(self.max_body)})
        except Exception as exc:
            # Logged here, inside the request, so the line carries its correlation id; the
            # client gets the same id on the 500. A response already under way cannot change:
            # the server logs the exception (with the id too) and drops the connection.
            if started:
                raise
            where = f"{scope['method']} {scope['path'][:MAX_LOGGED_PATH]}"
            busy = as_unavailable(exc)
            if busy is not None:  # overloaded, not broken: 503 and when to come back
                log_client_error(where, busy.code, busy.message)
                await envelope(503, busy.message, headers={"Retry-After": str(busy.retry_after)})(
                    scope, receive, send_wrapper
                )
                return
            log_fault(where, exc)
            await internal_error()(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            method = method_label(scope["method"])
            elapsed = time.perf_counter() - start
            HTTP_REQUESTS.labels(method, label, str(status)).inc()
            HTTP_LATENCY.labels(method, label).observe(elapsed)
            _access(scope, status, elapsed)


def _access(scope: Scope, status: int, seconds: float) -> None:
    """Our access line (uvicorn's is off): no query string, which may carry tokens."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    method, path, ms = scope["method"], scope["path"][:MAX_LOGGED_PATH], round(seconds * 1000, 1)
    access_log.info(
        "%s %s %s %.1fms",
        method,
        path,
        status,
        ms,
        extra={"method": method, "path": path, "status": status, "duration_ms": ms},
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
