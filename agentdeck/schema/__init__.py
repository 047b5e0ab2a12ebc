"""Builds the Strawberry schema from the per-domain modules."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from agentdeck.errors import DomainError
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
from agentdeck.schema.executor import FastExecutor
from agentdeck.schema.limits import enforce_limits
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


def should_mask(error: GraphQLError) -> bool:
    """Mask only unexpected failures: domain errors and request errors are the caller's to see."""
    original = error.original_error
    return original is not None and not isinstance(original, DomainError)


def build_schema(settings: Settings | None = None) -> Schema:
    settings = settings or Settings()
    roots = merge_types("Query", QUERIES), merge_types("Mutation", MUTATIONS), merge_types("Subscription", SUBSCRIPTIONS)
    enforce_limits(roots)
    return Schema(
        query=roots[0],
        mutation=roots[1],
        subscription=roots[2],
        execution_context_class=FastExecutor,
        extensions=[
            MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            ParserCache(maxsize=512),
            QueryDepthLimiter(max_depth=settings.graphql_max_depth),
            MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
            ValidationCache(maxsize=512),
            MaskErrors(should_mask_error=should_mask),
            OperationMetrics,
        ],
    )
