"""Builds the Strawberry schemas from the per-domain modules: one per face.

The GraphQL face (`/graphql`, the committed `schema.graphql`) is the native graph: each module's
`Query`, `Mutation` and `Subscription`. The REST face is what the generated REST layer executes
its stored operations against: a module's `RestQuery`, `RestMutation`, `RestSubscription` where
the legacy contract's shapes differ from the native ones (envelopes, offset pages, snake_case
strings for enums), else the native roots. The faces share every type and every domain function;
they differ only in which root fields they expose.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from typing import Any

from graphql import GraphQLEnumType, GraphQLScalarType
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types

from agentdeck.metrics import OperationMetrics
from agentdeck.schema import (
    account,
    activity,
    auth,
    billing,
    chat,
    contact,
    containers,
    guardrails,
    health,
    mfa,
    nodes,
    operator,
    preferences,
    service_accounts,
    signup,
    status,
    storage,
    tenants,
    vector_stores,
    workflows,
)
from agentdeck.schema.base import Schema
from agentdeck.schema.cost import query_cost
from agentdeck.schema.error_reporting import (
    BoundedValidation,
    CachedParser,
    ErrorReporting,
    RequestChecks,
)
from agentdeck.schema.executor import FastExecutor
from agentdeck.schema.input_safety import SafeStringLiterals
from agentdeck.schema.limits import enforce_limits
from agentdeck.schema.persisted import PersistedQueryStore, persisted_queries
from agentdeck.settings import Settings

# One line per domain module; each may define Query, Mutation and Subscription.
DOMAINS = (
    nodes,
    health,
    auth,
    account,
    preferences,
    mfa,
    tenants,
    service_accounts,
    signup,
    billing,
    chat,
    guardrails,
    storage,
    vector_stores,
    containers,
    status,
    contact,
    workflows,
    operator,
    activity,
)
GRAPHQL = "graphql"
REST = "rest"
# The root subscription type's name: `Subscription` would read like the billing subscription.
SUBSCRIPTION_ROOT = "SubscriptionRoot"


def roots_of(face: str, kind: str) -> tuple[type, ...]:
    """The root classes of one kind ("Query", "Mutation", "Subscription") a face merges."""
    found = []
    for module in DOMAINS:
        if face not in getattr(module, "FACES", (GRAPHQL, REST)):
            continue
        root = getattr(module, f"Rest{kind}", None) if face == REST else None
        root = root or getattr(module, kind, None)
        if root is not None:
            found.append(root)
    return tuple(found)


def build_schema(settings: Settings | None = None, face: str = GRAPHQL) -> Schema:
    settings = settings or Settings()
    roots = (
        merge_types("Query", roots_of(face, "Query")),
        merge_types("Mutation", roots_of(face, "Mutation")),
        merge_types(SUBSCRIPTION_ROOT if face == GRAPHQL else "Subscription", roots_of(face, "Subscription")),
    )
    enforce_limits(roots)
    store = PersistedQueryStore(
        size=settings.apq_cache_size,
        max_bytes=settings.apq_max_query_bytes,
        ttl_seconds=settings.apq_ttl_hours * 3600,
        prefix=settings.redis_prefix,
    )
    extensions: list[Any] = [
        persisted_queries(store),  # first: it supplies the document the others read
        MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        CachedParser(maxsize=512),
        # One extension for the three validation rules: each extension costs hooks on every
        # request, while the rules run only when a document is first validated.
        AddValidationRules(
            [
                *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
                *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
                SafeStringLiterals,
            ]
        ),
        BoundedValidation(max_fields=settings.graphql_max_fields, max_field_pairs=settings.graphql_max_field_pairs),
        RequestChecks,
        # After the checks above: costs the validated document, before anything executes.
        query_cost(settings.graphql_max_cost, settings.graphql_tenant_cost_per_minute),
        ErrorReporting(),
        OperationMetrics,
    ]
    if settings.tracing:  # imported only then: tracing off loads no OpenTelemetry module
        from agentdeck.tracing import OperationSpans

        extensions.append(OperationSpans)
    schema = Schema(
        query=roots[0],
        mutation=roots[1],
        subscription=roots[2],
        execution_context_class=FastExecutor,
        extensions=extensions,
    )
    json_scalar = schema._schema.type_map.get("JSON")
    if face == GRAPHQL and isinstance(json_scalar, GraphQLScalarType):
        # Before any plan captures it (the executor's plans read `coerce_output_value`).
        json_scalar.serialize = json_scalar.coerce_output_value = _marking_unplain(json_scalar.serialize)  # type: ignore[method-assign,assignment]  # see the enums below
    if face == REST:
        for named in schema._schema.type_map.values():
            if isinstance(named, GraphQLEnumType):
                # Replaces graphql-core's bound method on this face's own enum instances (mypy
                # forbids assigning to a method): the one hook graphql-core offers for an output
                # enum's wire form.
                named.serialize = named.coerce_output_value = _by_value(named)  # type: ignore[method-assign,assignment]  # see above
    return schema


class _UnplainDict(dict[Any, Any]):
    pass


class _UnplainList(list[Any]):
    pass


class _UnplainFloat(float):
    pass


_PLAIN = frozenset((str, int, bool, type(None)))


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(_plain(v) for v in value.values())
    if kind is list or kind is tuple:
        return all(_plain(v) for v in value)
    return False


def _marking_unplain(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The JSON scalar's value as is, unless it holds what orjson would write unlike json (NaN or
    an infinity, which json writes as `NaN`, orjson as `null`; an object json refuses, such as a
    UUID): then marked, as a subclass orjson refuses, so that `/graphql`'s encoder
    (`app.encode_graphql_json`) leaves that answer to json, which writes (or refuses) it as it
    always did."""

    def serialize_marked(value: Any) -> Any:
        out = serialize(value)
        if _plain(out):
            return out
        if isinstance(out, dict):
            return _UnplainDict(out)
        if isinstance(out, list | tuple):
            return _UnplainList(out)
        if isinstance(out, float):
            return _UnplainFloat(out)
        return out

    return serialize_marked


def _by_value(enum: GraphQLEnumType) -> Callable[[Any], Any]:
    """The REST face writes an enum as its value, the legacy wire string (`message.delta`, not
    `MESSAGE_DELTA`); anything else fails as graphql-core's own coercion does."""
    values = {v.value for v in enum.values.values()}
    coerce = enum.coerce_output_value

    def by_value(value: Any) -> Any:
        raw = value.value if isinstance(value, Enum) else value
        return raw if raw in values else coerce(value)

    return by_value
