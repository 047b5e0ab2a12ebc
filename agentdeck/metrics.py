"""Prometheus metrics: HTTP requests per route, GraphQL operations per root field.

Every label takes its values from a set the server bounds (route templates, stored REST
operations, schema root fields, HTTP methods it knows): a client that invents operation names,
paths or methods adds no series, so `/metrics` cannot be grown by anonymous traffic.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterator

from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode, get_operation_ast
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

HTTP_REQUESTS = Counter("agentdeck_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("agentdeck_http_request_duration_seconds", "HTTP request latency", ["method", "route"])
GRAPHQL_OPERATIONS = Counter(
    "agentdeck_graphql_operations_total",
    "GraphQL operations executed (over /graphql by root field, through the REST layer by stored operation)",
    ["operation", "type", "transport", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "agentdeck_graphql_operation_duration_seconds",
    "GraphQL operation latency",
    ["operation", "type", "transport"],
)
# Back-pressure (agentdeck/backpressure.py), per process.
REQUESTS_IN_FLIGHT = Gauge(
    "agentdeck_requests_in_flight", "HTTP requests being served (streams and health checks apart)"
)
OPEN_STREAMS = Gauge("agentdeck_open_streams", "Open SSE responses and WebSocket connections")
LOAD_SHED = Counter(
    "agentdeck_load_shed_total", "Requests and streams answered 503 because the process was at its bound", ["kind"]
)

# The label for everything a client could name freely: unknown fields, several root fields in
# one operation, unparsable documents, methods outside HTTP's usual set.
OTHER = "other"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else OTHER


def observe_operation(operation: str, op_type: str, transport: str, ok: bool, seconds: float) -> None:
    GRAPHQL_OPERATIONS.labels(operation, op_type, transport, "ok" if ok else "error").inc()
    GRAPHQL_LATENCY.labels(operation, op_type, transport).observe(seconds)


def root_field_label(schema: GraphQLSchema, operation: OperationDefinitionNode | None) -> str:
    """The operation's root field when it selects exactly one the schema has, else `other`.

    The client's operation name and aliases are ignored: they are free text.
    """
    if operation is None:
        return OTHER
    selections = operation.selection_set.selections
    if not all(isinstance(s, FieldNode) for s in selections):
        return OTHER  # fragments at the root: not worth resolving for a label
    names = {s.name.value for s in selections}  # type: ignore[attr-defined]
    if len(names) != 1:
        return OTHER
    (name,) = names
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[operation.operation.value]
    if name in INTROSPECTION_FIELDS or (root is not None and name in root.fields):
        return name
    return OTHER


class OperationMetrics(SchemaExtension):
    """Operation-level hook only: a per-field hook would slow every field several-fold."""

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        ec = self.execution_context
        label, op_type = operation_labels(ec)
        ok = not (ec.pre_execution_errors or getattr(ec.result, "errors", None))
        observe_operation(label, op_type, "graphql", ok, time.perf_counter() - start)


def operation_labels(ec: ExecutionContext) -> tuple[str, str]:
    """(root field or `other`, operation type or `unknown`) of a GraphQL request."""
    document = ec.graphql_document
    if document is None:  # not parsed (syntax error, token limit)
        return OTHER, "unknown"
    try:
        operation = get_operation_ast(document, ec.operation_name)
    except Exception:  # noqa: BLE001 - a client-chosen operation name that matches nothing
        operation = None
    if operation is None:
        return OTHER, "unknown"
    op_type = operation.operation.value
    return root_field_label(ec.schema._schema, operation), op_type if op_type in OPERATION_TYPES else "unknown"


def metrics_endpoint(token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """`GET /metrics`; with a token set, only `Authorization: Bearer <token>` may read it."""
    expected = f"Bearer {token}".encode() if token else None

    async def endpoint(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            # Constant time: the comparison must not tell how much of a guess was right.
            if not hmac.compare_digest(given, expected):
                return JSONResponse({"detail": "Not authenticated"}, 401, headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return endpoint
