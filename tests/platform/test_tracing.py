"""Traces: off by default, with no OpenTelemetry module even loaded; with AGENTDECK_OTEL_ENDPOINT
set, spans over OTLP/HTTP for each request, GraphQL operation, SQL statement and outgoing HTTP
call, tied to the request's correlation id and to the JSON log lines, and flushed at shutdown."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.harness import ROOT, Server, server_with_openai_stub, start_server
from tests.users import register

SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]
    service: str


def _value(any_value: Any) -> Any:
    which = any_value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, which) if which else None


class Collector:
    """An OTLP/HTTP collector on a loopback port: keeps every span POSTed to /v1/traces."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.spans: list[Span] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest.FromString(body)
                with collector.lock:
                    collector.spans += _spans(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="otlp-collector", daemon=True)
        self.thread.start()

    def received(self) -> list[Span]:
        with self.lock:
            return list(self.spans)

    def wait_for(self, what: str, found: Callable[[list[Span]], Any], timeout: float = 15) -> Any:
        """The first truthy `found(spans)`, polled until `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.received()
            if result := found(spans):
                return result
            if time.monotonic() > deadline:
                names = sorted({s.name for s in spans})
                raise AssertionError(f"no {what} among {len(spans)} spans received: {names}")
            time.sleep(0.05)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _spans(request: Any) -> list[Span]:
    out = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                out.append(
                    Span(
                        s.name,
                        s.trace_id.hex(),
                        s.span_id.hex(),
                        s.parent_span_id.hex(),
                        s.kind,
                        {a.key: _value(a.value) for a in s.attributes},
                        resource.get("service.name", ""),
                    )
                )
    return out


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


def _traced_env(collector: Collector, schedule_ms: int) -> dict[str, str]:
    return {
        "AGENTDECK_OTEL_ENDPOINT": collector.url,
        "AGENTDECK_OTEL_SERVICE_NAME": "agentdeck-test",
        "OTEL_BSP_SCHEDULE_DELAY": str(schedule_ms),
        "AGENTDECK_LOG_LEVEL": "info",
        "AGENTDECK_LOG_FORMAT": "json",
    }


@pytest.fixture(scope="module")
def traced(collector, tmp_path_factory) -> Iterator[Server]:
    """A server exporting every 100 ms to the collector, its model the local OpenAI stub."""
    with server_with_openai_stub(tmp_path_factory.mktemp("traced"), "chat", env=_traced_env(collector, 100)) as srv:
        yield srv


def _server_span(spans: list[Span], cid: str) -> Span | None:
    return next((s for s in spans if s.kind == SERVER and s.attributes.get("agentdeck.correlation_id") == cid), None)


def _log_records(srv: Server, cid: str) -> list[dict]:
    return [
        r
        for r in (json.loads(line) for line in srv.log().splitlines() if line.startswith("{"))
        if r.get("correlation_id") == cid
    ]


def test_tracing_is_off_by_default_and_loads_no_opentelemetry(tmp_path):
    """The app factory and a request through it, with no tracing setting: agentdeck imports no
    OpenTelemetry module, and no tracer provider, instrumentation or exporter is loaded.

    redis-py (8.x) imports `opentelemetry.sdk.metrics` on `import redis` whenever the SDK is
    installed, to offer its own opt-in metrics: the import hook below records who imports each
    OpenTelemetry module, and that is the only importer allowed."""
    script = """
import sys

class Importers:
    # Who imports each OpenTelemetry module first: the nearest frame outside the import machinery.
    seen = {}

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            frame = sys._getframe(1)
            while frame and frame.f_globals.get("__name__", "").split(".")[0] in ("importlib", "opentelemetry", "__main__"):
                frame = frame.f_back
            self.seen[name] = frame.f_globals.get("__name__") if frame else "?"
        return None

sys.meta_path.insert(0, Importers())
from starlette.testclient import TestClient
from agentdeck.app import app_from_environment
from agentdeck.db.migrate import upgrade
from agentdeck.settings import Settings

upgrade(Settings().effective_database_url)
client = TestClient(app_from_environment())  # requests only: no lifespan, no background workers
r = client.post("/graphql", json={"query": "{ health { status } }"})
assert r.status_code == 200 and r.json()["data"]["health"]["status"], r.text
r = client.get("/api/v1/billing/plans")  # through the REST layer and the database
assert r.status_code == 200, r.text
foreign = {name: by for name, by in Importers.seen.items() if by.split(".")[0] != "redis"}
tracing = sorted(m for m in sys.modules if m.startswith((
    "agentdeck.tracing", "strawberry.extensions.tracing", "opentelemetry.sdk.trace", "opentelemetry.instrumentation",
    "opentelemetry.exporter")))
print("imported by other than redis:", foreign, "tracing modules:", tracing)
sys.exit(1 if foreign or tracing else 0)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTDECK_", "OTEL_"))}
    env.update({"AGENTDECK_VAR_DIR": str(tmp_path), "AGENTDECK_LOG_LEVEL": "warning"})
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_standard_endpoint_variable_turns_tracing_on_unless_ours_says_off(monkeypatch):
    from agentdeck.settings import Settings

    for name in ("AGENTDECK_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert not Settings().tracing
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert Settings().tracing and Settings().otel_endpoint == "http://collector:4318"
    monkeypatch.setenv("AGENTDECK_OTEL_ENDPOINT", "http://ours:4318")
    assert Settings().otel_endpoint == "http://ours:4318"
    monkeypatch.setenv("AGENTDECK_OTEL_ENDPOINT", "")
    assert not Settings().tracing
    assert Settings(otel_endpoint="http://by-name:4318").tracing


def test_requests_graphql_sql_and_the_model_call_are_traced(traced, collector):
    caller_trace, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    gql = traced.http.post(
        "/graphql",
        json={"query": "query Health { health { status } }"},
        headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"},
    )
    assert gql.status_code == 200, gql.text
    account = register(traced, verified=True)
    rest = traced.rest("GET", "/api/v1/conversations", token=account.access_token)
    assert rest.status_code == 200, rest.text
    chat = traced.rest("POST", "/api/v1/chat", token=account.access_token, json={"message": "Hello"}, timeout=30)
    assert chat.status_code == 200 and chat.json()["response"] == "stub reply", chat.text
    cids = {name: r.headers["x-correlation-id"] for name, r in (("graphql", gql), ("rest", rest), ("chat", chat))}

    # A server span per request, named after its route, carrying the id the client was given.
    def every_server_span(spans: list[Span]) -> dict[str, Span] | None:
        found = {name: _server_span(spans, cid) for name, cid in cids.items()}
        return found if all(found.values()) else None  # type: ignore[return-value]

    servers = collector.wait_for("server span of every request", every_server_span)
    assert servers["graphql"].name == "POST /graphql"
    assert servers["rest"].name == "GET /api/v1/conversations"
    assert servers["rest"].attributes["http.route"] == "/api/v1/conversations"
    assert servers["chat"].name == "POST /api/v1/chat"
    assert {s.service for s in servers.values()} == {"agentdeck-test"}
    assert len({s.trace_id for s in servers.values()}) == 3
    # The caller's W3C trace context is continued.
    assert (servers["graphql"].trace_id, servers["graphql"].parent_id) == (caller_trace, caller_span)

    # The GraphQL operation, inside its request; the document text is not exported.
    graphql = servers["graphql"]
    operation = collector.wait_for(
        "GraphQL operation span",
        lambda spans: next((s for s in spans if s.trace_id == graphql.trace_id and s.name == "query Health"), None),
    )
    assert operation.parent_id == graphql.span_id
    assert operation.attributes["graphql.operation.name"] == "Health"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert "query" not in operation.attributes

    # SQL statements of the REST request, in its trace, each under a span of that trace.
    def sql_of(server_span: Span) -> Callable[[list[Span]], list[Span]]:
        def found(spans: list[Span]) -> list[Span]:
            return [
                s
                for s in spans
                if s.trace_id == server_span.trace_id
                and s.kind == CLIENT
                and ("db.system" in s.attributes or "db.system.name" in s.attributes)
            ]

        return found

    sql = collector.wait_for("SQL span of the REST request", sql_of(servers["rest"]))
    in_trace = {s.span_id for s in collector.received() if s.trace_id == servers["rest"].trace_id}
    assert all(s.parent_id in in_trace for s in sql), sql
    assert any(s.parent_id == servers["rest"].span_id for s in sql)
    assert any("SELECT" in s.name for s in sql)

    # The model call through the OpenAI SDK: an httpx client span in the chat request's trace.
    stub_url = traced.stub.base_url  # type: ignore[attr-defined]
    model_call = collector.wait_for(
        "httpx span of the model call",
        lambda spans: next(
            (
                s
                for s in spans
                if s.trace_id == servers["chat"].trace_id
                and s.kind == CLIENT
                and str(s.attributes.get("url.full") or s.attributes.get("http.url", "")).startswith(stub_url)
            ),
            None,
        ),
    )
    assert model_call.name == "POST"
    assert model_call.attributes.get("http.response.status_code", model_call.attributes.get("http.status_code")) == 200

    # The request's JSON log lines carry its trace id.
    for name, cid in cids.items():
        access = [r for r in _log_records(traced, cid) if r["logger"] == "agentdeck.access"]
        assert len(access) == 1 and access[0]["trace_id"] == servers[name].trace_id, (name, access)
    assert "Traceback" not in traced.log()


def test_spans_still_queued_are_exported_when_the_server_stops(collector, tmp_path):
    """Batches leave every 60 s here: the request's spans reach the collector only because the
    server's shutdown flushes them."""
    srv = start_server(tmp_path, env=_traced_env(collector, 60_000))
    try:
        r = srv.http.post("/graphql", json={"query": "query LastWords { health { status } }"})
        assert r.status_code == 200, r.text
        cid = r.headers["x-correlation-id"]
    finally:
        srv.stop()
    server_span = collector.wait_for("server span flushed at stop", lambda spans: _server_span(spans, cid), timeout=5)
    assert any(s.name == "query LastWords" and s.trace_id == server_span.trace_id for s in collector.received())
