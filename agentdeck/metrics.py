"""Prometheus metrics: HTTP requests per route, GraphQL operations per operation name."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

HTTP_REQUESTS = Counter(
    "agentdeck_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "agentdeck_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
GRAPHQL_OPERATIONS = Counter(
    "agentdeck_graphql_operations_total",
    "GraphQL operations executed (over /graphql and through the REST layer)",
    ["operation", "type", "transport", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "agentdeck_graphql_operation_duration_seconds",
    "GraphQL operation latency",
    ["operation", "type", "transport"],
)


def observe_operation(operation: str, op_type: str, transport: str, ok: bool, seconds: float) -> None:
    GRAPHQL_OPERATIONS.labels(operation, op_type, transport, "ok" if ok else "error").inc()
    GRAPHQL_LATENCY.labels(operation, op_type, transport).observe(seconds)


class OperationMetrics(SchemaExtension):
    """Operation-level hook only: a per-field hook would slow every field several-fold."""

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        ec = self.execution_context
        try:
            op_type = ec.operation_type.value
        except Exception:  # noqa: BLE001 - unparsable documents have no operation type
            op_type = "unknown"
        ok = not (ec.pre_execution_errors or getattr(ec.result, "errors", None))
        name = ec.operation_name or "anonymous"
        observe_operation(name, op_type, "graphql", ok, time.perf_counter() - start)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
