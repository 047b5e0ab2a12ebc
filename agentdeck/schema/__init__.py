"""Builds the Strawberry schema from the per-domain modules."""

from __future__ import annotations

from typing import Any

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
    auth,
    billing,
    chat,
    contact,
    containers,
    health,
    service_accounts,
    signup,
    status,
    storage,
    tenants,
    vector_stores,
    workflows,
)
from agentdeck.schema.base import Schema
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
    health,
    auth,
    account,
    tenants,
    service_accounts,
    signup,
    billing,
    chat,
    storage,
    vector_stores,
    containers,
    status,
    contact,
    workflows,
)
QUERIES = tuple(m.Query for m in DOMAINS if hasattr(m, "Query"))
MUTATIONS = tuple(m.Mutation for m in DOMAINS if hasattr(m, "Mutation"))
SUBSCRIPTIONS = tuple(m.Subscription for m in DOMAINS if hasattr(m, "Subscription"))


def build_schema(settings: Settings | None = None) -> Schema:
    settings = settings or Settings()
    roots = (
        merge_types("Query", QUERIES),
        merge_types("Mutation", MUTATIONS),
        merge_types("Subscription", SUBSCRIPTIONS),
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
        QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
        AddValidationRules([SafeStringLiterals]),
        BoundedValidation(max_fields=settings.graphql_max_fields),
        RequestChecks,
        ErrorReporting(),
        OperationMetrics,
    ]
    if settings.tracing:  # imported only then: tracing off loads no OpenTelemetry module
        from agentdeck.tracing import OperationSpans

        extensions.append(OperationSpans)
    return Schema(
        query=roots[0],
        mutation=roots[1],
        subscription=roots[2],
        execution_context_class=FastExecutor,
        extensions=extensions,
    )
