"""`operator`: the one door of the native graph to other tenants' data (platform operators).

Every other field answers for the tenant the request acts in. What an operator reads across
tenants hangs off `operator`, so a client (and a reviewer) sees at the call site that a query
crosses tenants, and a non-operator gets one FORBIDDEN error at `operator` instead of a filter
that silently widens or narrows. The REST layer keeps its legacy parameters (`tenant_id`, `all`);
this module is GraphQL-only.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from agentdeck.domain.common.access import require_scope, require_verified
from agentdeck.schema import graph
from agentdeck.schema.permissions import Authenticated, allow
from agentdeck.schema.service_accounts import ServiceAccountTokenFilter, TokenNode, tenant_key, token_page
from agentdeck.schema.status import StatusSubscriptionFilter, StatusSubscriptionNode, subscription_page

FACES = ("graphql",)
OPERATOR_SCOPE = "platform:operator"


@strawberry.type(description="What platform operators read across tenants.")
class Operator:
    @strawberry.field(description="Service-account tokens of every tenant (or of `tenant`), newest first.")
    async def service_account_tokens(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        filter: ServiceAccountTokenFilter | None = None,
        tenant: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this tenant's tokens (its global id).")
        ] = None,
    ) -> graph.Connection[TokenNode]:
        return await token_page(info, first, after, filter, tenant_key(tenant, "tenant"), operators_only_tenant=True)

    @strawberry.field(description="Alert subscriptions of every tenant, newest first.")
    async def status_subscriptions(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: StatusSubscriptionFilter | None = None,
    ) -> graph.Connection[StatusSubscriptionNode]:
        return await subscription_page(info, first, after, last, before, filter, all_tenants=True)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=allow(Authenticated()),
        description="Cross-tenant reads for platform operators (`platform:operator`); FORBIDDEN for anyone else.",
    )
    async def operator(self, info: strawberry.Info) -> Operator:
        await require_verified(info.context)
        require_scope(info.context, OPERATOR_SCOPE)
        return Operator()
