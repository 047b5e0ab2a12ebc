"""Build the Starlette application from settings: the only place that wires things together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
from types import ModuleType
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter
from cross_web import HTTPException as StrawberryHTTPException  # what Strawberry's view raises
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute, compile_path
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.parse_content_type import parse_content_type

from agentdeck import browser_tools
from agentdeck.backpressure import BackpressureMiddleware
from agentdeck.context import Context, Services, authenticate
from agentdeck.db import migrate
from agentdeck.domain.agents.runs import RunSupervisor
from agentdeck.domain.billing.worker import BillingWorker
from agentdeck.domain.status.probes import StatusMonitor
from agentdeck.errors import DomainError
from agentdeck.logs import bind_tenant, configure_logging, log_client_error
from agentdeck.metrics import metrics_endpoint
from agentdeck.middleware import RequestMiddleware
from agentdeck.pages import page_routes
from agentdeck.rest_compat.build import NO_STORE, RouteIndex, build_routes
from agentdeck.rest_compat.openapi import build_openapi
from agentdeck.rest_compat.raw import BLOB_PREFIX, blob_routes, download_routes, webhook_routes
from agentdeck.rest_compat.routes import RAW_ROUTES, ROUTES
from agentdeck.schema import REST, build_schema
from agentdeck.security_headers import SecurityHeadersMiddleware
from agentdeck.settings import Settings

# Response headers a browser client on another origin may read (rate limits, optimistic
# concurrency, the id to quote in a support request).
EXPOSED_HEADERS = [
    "ETag",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Correlation-ID",
]


# The code of a request Strawberry refuses before any operation runs, by the status it answers.
REQUEST_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def request_error(status: int, message: str) -> Response:
    """A GraphQL request refused as a whole (a body that is not a GraphQL request, `variables`
    not an object, an unknown `operationName`, a mutation over GET): the status Strawberry
    chose, and a GraphQL error response saying why, with a code, like every other error."""
    code = REQUEST_ERROR_CODES.get(status, "BAD_REQUEST")
    log_client_error("GraphQL request", code, message)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}  # no `data`: nothing ran
    # ASCII JSON: the message may quote the client's text, lone surrogates included.
    return Response(json.dumps(body).encode(), status, headers=NO_STORE, media_type="application/json")


# What orjson writes unlike `json.dumps(..., separators=(",", ":"))`, Strawberry's encoder: a
# float below 1e-4 (orjson: `0.00001`, `1.5e-7`; json: `1e-05`, `1.5e-07`), so an answer holding
# such a number is written by json; a character outside ASCII or DEL (json escapes it,
# `\u00e9`, surrogate pairs above the BMP, and DEL as `\u007f`), escaped after orjson below.
_NOT_ASCII = re.compile(r"[^\x00-\x7e]")
# A number as orjson writes a float below 1e-4 (`1.5e-7`, `0.00001`): digits, then the end of the
# token. A string may hold such text too (rare): that answer is then written by json, for nothing
# worse than time. Each pattern starts with a literal, which the regex engine searches fast.
_SMALL_EXPONENT = re.compile(rb"e-[0-9]+(?:[,}\]]|\Z)")
_SMALL_DECIMAL = re.compile(rb"0\.0000[0-9]*(?:[,}\]]|\Z)")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def encode_graphql_json(data: object) -> bytes:
    """The bytes `json.dumps(data, separators=(",", ":"))` writes (ASCII, floats as `repr`), by
    orjson where it writes the same: ~17x faster on a 50-item page (718 -> 41 µs). Anything orjson
    would write differently or refuses (a datetime or dataclass, a str/int/dict/list subclass, an
    int beyond 64 bits, a lone surrogate, a float below 1e-4) is left to json."""
    try:
        out = orjson.dumps(data, default=_refuse, option=_PASSTHROUGH)
    except TypeError:  # orjson.JSONEncodeError too
        return json.dumps(data, separators=(",", ":")).encode()
    if (b"e-" in out and _SMALL_EXPONENT.search(out)) or (b"0.0000" in out and _SMALL_DECIMAL.search(out)):
        return json.dumps(data, separators=(",", ":")).encode()
    if out.isascii() and b"\x7f" not in out:
        return out
    return _NOT_ASCII.sub(_escape, out.decode()).encode()


_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class GraphQLApp(GraphQL[Context, None]):
    # Strawberry's view is generic over the context and root value it hands the schema: ours
    # are agentdeck's Context and no root value, so get_context and on_ws_connect type-check.
    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # As Strawberry's, except that a refused request gets JSON, not Strawberry's plain text.
        try:
            response = await self.run(Request(scope, receive))
        except StrawberryHTTPException as exc:
            response = request_error(exc.status_code, exc.reason)
        await response(scope, receive, send)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        # Strawberry reads any JSON body as an object (or a batch): `5` or `"x"` failed in it.
        if request.method == "POST" and "application/json" in parse_content_type(request.content_type or "")[0]:
            if (await request.get_body()).lstrip()[:1] not in (b"{", b"["):
                raise StrawberryHTTPException(400, "The request body must be a JSON object with a `query`.")
        return await super().parse_http_body(request)

    async def get_context(self, request: Any, response: Any) -> Context:
        if isinstance(response, Response):
            # Any operation may sign in or mint a token, and one document may mix fields:
            # no GraphQL answer over HTTP is ever stored by a browser or proxy.
            response.headers.update(NO_STORE)
        return await build_context(self.services, request, response)

    def encode_json(self, data: object) -> str:
        # Text, not bytes: Strawberry sends bytes over a WebSocket as binary frames, which
        # graphql-ws clients (GraphiQL's) refuse ("Message is missing the 'type' property").
        return encode_graphql_json(data).decode()

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A persisted query over GET has `extensions` and no `query`: an operation, not a
        # browser asking for GraphiQL (curl and most HTTP clients accept */*).
        return super().should_render_graphql_ide(request) and "extensions" not in request.query_params

    async def render_graphql_ide(self, request: Any) -> Response:
        # Our page instead of Strawberry's, whose scripts come from a CDN (blank offline).
        return browser_tools.page_response(browser_tools.GRAPHIQL)

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        token = params.get("authorization") or params.get("Authorization") or params.get("token")
        if token:
            scheme, _, value = str(token).partition(" ")
            token = value if scheme.lower() == "bearer" else str(token)
            try:
                context.principal = await authenticate(self.services, None, token=token)
            except DomainError as exc:
                log_client_error("WebSocket connection_init", exc.code, exc.message)
                raise ConnectionRejectionError({"message": exc.message}) from None
            if context.principal is not None and context.principal.tenant_id is not None:
                bind_tenant(context.principal.tenant_id)


async def build_context(services: Services, conn: HTTPConnection | None, response: Any = None) -> Context:
    context = Context(services=services, request=conn, response=response)
    if isinstance(conn, WebSocket):
        return context  # authenticated from the connection_init payload (on_ws_connect)
    try:
        context.principal = await authenticate(services, conn)
        if context.principal is not None and context.principal.tenant_id is not None:
            bind_tenant(context.principal.tenant_id)  # the token's tenant; tenant context may refine it
    except DomainError as exc:
        # Bad credentials are reported by the fields that need a principal, so that a public
        # field still answers; `auth_error` keeps the reason for them.
        context.auth_error = exc
    return context


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Unknown paths and wrong methods answer as the legacy service did: {"detail": ...}.
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def app_from_environment() -> Starlette:
    """`agentdeck serve`'s factory, called in each worker process: settings from the environment,
    logging configured as the parent did (a spawned worker starts with none)."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


def _stream_routes() -> list[tuple[str, re.Pattern[str]]]:
    """(method, path regex) of every REST route that answers with Server-Sent Events."""
    return [(op.method, compile_path(op.path)[0]) for op in ROUTES if op.stream is not None]


def add_workers(services: Services) -> None:
    """The background workers, each living with its domain: started in this order with the
    process, stopped in reverse."""
    runs = RunSupervisor(services)
    services.runs = runs
    services.workers = [BillingWorker(services), StatusMonitor(services), runs]


def _tracing(settings: Settings) -> ModuleType | None:
    """`agentdeck.tracing`, set up, when traces are exported; else None, and no OpenTelemetry
    module is even imported."""
    if not settings.tracing:
        return None
    try:
        from agentdeck import tracing
    except ImportError as exc:  # installed without the extra
        raise RuntimeError(
            f"AGENTDECK_OTEL_ENDPOINT is set but OpenTelemetry is not installed ({exc}): "
            "install agentdeck[otel], or unset it"
        ) from exc

    tracing.setup(settings)
    return tracing


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    tracing = _tracing(settings)  # before Services: the clients they make are traced
    services = Services(settings)
    add_workers(services)
    if tracing is not None:
        tracing.instrument_engine(services.db.engine)
    schema = build_schema(settings)
    rest_schema = build_schema(settings, face=REST)  # what the REST layer's operations run on

    async def rest_context(request: Request) -> Context:
        return await build_context(services, request)

    rest_routes, compiled = build_routes(rest_schema, ROUTES, rest_context)
    raw = tuple(r for r in RAW_ROUTES if settings.enable_billing or not r.billing)  # the webhook: with billing
    openapi_body = orjson.dumps(build_openapi(rest_schema._schema, compiled, raw))
    graphql = GraphQLApp(
        services,
        schema=schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        keep_alive=True,
        keep_alive_interval=15,
    )

    async def openapi(_request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    async def jwks(request: Request) -> Response:
        etag = services.keys.jwks_etag
        headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return JSONResponse(services.keys.jwks(), headers=headers)

    async def docs(_request: Request) -> Response:
        return browser_tools.page_response(browser_tools.SWAGGER_UI)

    routes: list[BaseRoute] = [
        RouteIndex(rest_routes),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/metrics", metrics_endpoint(_secret(settings.metrics_token)), methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        browser_tools.static_mount(),
        *(webhook_routes(rest_context) if settings.enable_billing else []),
        *blob_routes(services),
        *download_routes(rest_context),
        *page_routes(rest_schema, rest_context, settings.public_url),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        if settings.should_auto_migrate:
            await asyncio.to_thread(migrate.upgrade, settings.effective_database_url)
        # Objects alive after start-up live for the process: keep them out of the cyclic GC's
        # generations, which otherwise set the tail latency (see docs/performance.md).
        await services.start()
        gc.collect()
        gc.freeze()
        yield
        await services.close()
        if tracing is not None:  # the batch processor's last spans, before the process ends
            await asyncio.to_thread(tracing.flush)

    app = Starlette(
        routes=routes,
        middleware=[
            *([tracing.outer_middleware()] if tracing is not None else []),
            Middleware(SecurityHeadersMiddleware, hsts_max_age_seconds=settings.hsts_max_age_seconds),
            Middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes, unbounded_prefixes=(BLOB_PREFIX,)),
            # Names the server span and gives it the correlation id RequestMiddleware just made.
            *([Middleware(tracing.RequestSpanFacts)] if tracing is not None else []),
            # The one CORS policy, for every route including the SSE streams: an allowed origin
            # is echoed with credentials, any other gets no Access-Control-Allow-Origin. "*"
            # admits every origin, so it never comes with credentials.
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials="*" not in settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=EXPOSED_HEADERS,
            ),
            # Innermost: a refusal still carries the correlation id, the security headers and
            # CORS (so a browser script can read its Retry-After), and is logged and counted.
            Middleware(
                BackpressureMiddleware,
                max_requests=settings.max_requests_in_flight,
                max_streams=settings.max_streams,
                stream_routes=_stream_routes(),
            ),
        ],
        # Unexpected exceptions are answered (and logged once, with the request's correlation
        # id) by `RequestMiddleware`.
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.schema = schema
    app.state.openapi = openapi_body
    return app
