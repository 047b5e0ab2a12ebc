"""OpenTelemetry traces, exported over OTLP/HTTP when `AGENTDECK_OTEL_ENDPOINT` is set.

Imported only then (by `app.create_app` and `schema.build_schema`): with tracing off, agentdeck
imports no OpenTelemetry module and nothing here costs anything (redis-py imports the metrics SDK
on its own when it is installed; tests/platform/test_tracing.py tells the two apart). The spans come from the
maintained instrumentations; this module only wires them:

- a server span per HTTP request or WebSocket connection (opentelemetry-instrumentation-asgi),
  named after the route template ("GET /api/v1/conversations", "POST /graphql"), with the
  request's correlation id as `agentdeck.correlation_id`;
- a span per GraphQL operation served by Strawberry ("query Health"; Strawberry's extension,
  at operation level only: see `OperationSpans`);
- a client span per SQL statement (opentelemetry-instrumentation-sqlalchemy);
- a client span per outgoing HTTP request made with httpx or httpx2: the OpenAI SDK's calls,
  status probes, webhooks (opentelemetry-instrumentation-httpx).

JSON log lines written while a span is current carry its `trace_id`.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Generator

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from opentelemetry.util.http import get_excluded_urls
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from agentdeck.logs import correlation_id
from agentdeck.settings import Settings

CORRELATION_ATTRIBUTE = "agentdeck.correlation_id"
TRACES_PATH = "/v1/traces"
FLUSH_TIMEOUT_S = 5.0  # at shutdown: a collector that does not answer holds the stop up no longer

_provider: TracerProvider | None = None


def setup(settings: Settings) -> None:
    """The process's tracer provider, exporting in batches to the configured collector; made
    once per process (it is global to OpenTelemetry) and shared by every app built after."""
    global _provider
    if _provider is not None:
        return
    # shutdown_on_exit=False: the app's shutdown flushes (`flush`), bounded; the SDK's own exit
    # hook would wait on a collector that does not answer for up to 30 s.
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.otel_service_name}), shutdown_on_exit=False
    )
    # BatchSpanProcessor reads OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE... itself; the
    # exporter reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION.
    exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.strip().rstrip("/") + TRACES_PATH)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # Patches the transports, so every client is traced, made before or after: httpx's (status
    # probes, webhooks) and httpx2's (the OpenAI SDK's since openai 3).
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    if importlib.util.find_spec("httpx2") is not None:
        HTTPX2ClientInstrumentor().instrument(tracer_provider=provider)
    for handler in logging.getLogger().handlers:  # set up by logs.configure_logging
        handler.addFilter(TraceFacts())
    _provider = provider


def instrument_engine(engine: AsyncEngine) -> None:
    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1 while it works with the 2.1
    # engine events it listens to (tests/platform/test_tracing.py asserts the SQL spans).
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=_provider, skip_dep_check=True)


def flush(timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
    """Export what the batch processor still holds (the app's shutdown, before the process
    ends), waiting `timeout_s` at most: the SDK's force_flush takes no timeout of its own, so it
    runs on a daemon thread, left behind if the collector does not answer. True when done."""
    if _provider is None:
        return True
    worker = threading.Thread(target=_provider.force_flush, name="otel-flush", daemon=True)
    worker.start()
    worker.join(timeout_s)
    return not worker.is_alive()


def outer_middleware() -> Middleware:
    """The server span, outermost, so that it covers every middleware and the status it answers.
    No spans for each ASGI receive/send message: three more spans per request that say nothing."""
    return Middleware(
        OpenTelemetryMiddleware,
        tracer_provider=_provider,
        excluded_urls=get_excluded_urls("STARLETTE"),  # OTEL_PYTHON_EXCLUDED_URLS, as the Starlette one
        exclude_spans=["receive", "send"],
    )


class RequestSpanFacts:
    """Just inside `RequestMiddleware`: names the server span after the matched route template
    (the router sets `scope["route"]`) and stamps it with the request's correlation id.

    Naming here, once the router has matched, saves matching every route a second time up front
    as the Starlette instrumentation does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        span = trace.get_current_span()
        if not span.is_recording():
            await self.app(scope, receive, send)
            return
        span.set_attribute(CORRELATION_ATTRIBUTE, correlation_id.get())
        named = False

        def name_span() -> None:
            nonlocal named
            named = True
            route = getattr(scope.get("route"), "path", None)
            if route:
                span.set_attribute("http.route", route)
                span.update_name(f"{scope['method']} {route}" if scope["type"] == "http" else route)

        async def send_named(message: Message) -> None:
            # The span ends with the response's last byte: name it before the response starts.
            if not named and message["type"] in ("http.response.start", "websocket.accept"):
                name_span()
            await send(message)

        try:
            await self.app(scope, receive, send_named)
        finally:
            if not named:  # a fault answered by RequestMiddleware, or a refused WebSocket
                name_span()


class TraceFacts(logging.Filter):
    """Stamps each record with the current trace id (JSON lines show it as `trace_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
        return True


class OperationSpans(SchemaExtension):
    """Strawberry's OpenTelemetry extension cut down to one span per operation ("query Health"),
    which covers parsing, validation and execution. It does not subclass that extension: what is
    left out would have to be undone hook by hook, with hooks whose types differ from its own.

    Left out, for what they cost (CPU per request in-process, spans exported, measured when
    this was written): a span per resolved field, which also turns every field into a
    middleware call and switches off `FastExecutor`'s plain-field path: +0.9 ms on a 59-field
    `billingPlans` query, where tracing as a whole costs +0.5 ms; the parsing and validation
    spans, +0.12 ms for two spans that say little (parsed documents are cached); and
    Strawberry's `query` attribute, the document text, whose literals may hold passwords.
    """

    def __init__(self, *, execution_context: ExecutionContext | None = None) -> None:
        # Strawberry's extension's instrumentation scope, so the exported spans stay as they were.
        self._tracer = trace.get_tracer("strawberry")
        if execution_context is not None:
            self.execution_context = execution_context

    def on_operation(self) -> Generator[None, None, None]:
        # Not made current (as in Strawberry's): SQL and HTTP spans stay children of the request.
        span = self._tracer.start_span("GraphQL operation", kind=SpanKind.INTERNAL)
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value  # known once the document parsed
        except Exception:  # an unparsable document, or no operation of that name
            kind = None
        name = context.operation_name
        if kind:
            span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        span.update_name(" ".join(part for part in (kind, name) if part) or "GraphQL operation")
        span.end()
