"""Service-account tokens: mint, list, revoke. The native graph (`Query`, `Mutation`: the
`ServiceAccountToken` node) and the legacy fields the REST layer runs (`RestQuery`,
`RestMutation`). Rules in `domain/identity/service_accounts.py`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from agentdeck.db.models.service_accounts import ServiceAccountToken as TokenRow
from agentdeck.domain.common.access import require_principal
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Outcome, Page
from agentdeck.domain.identity import service_accounts as r
from agentdeck.errors import Forbidden, InvalidInput
from agentdeck.schema import graph
from agentdeck.schema.access_native import bounded, check_input, database_key, input_key, payload
from agentdeck.schema.limits import Offset, PageSize, limited
from agentdeck.schema.permissions import Authenticated, allow


@strawberry.enum
class ServiceAccountTokenStatus(Enum):
    active = "active"
    revoked = "revoked"
    all = "all"


@strawberry.type(description="A freshly minted service-account refresh token.")
class ServiceAccountToken:
    refresh_token: str
    expires_at: datetime
    issued_at: datetime
    scopes: list[str]
    tenant_id: uuid.UUID | None
    kid: str
    account: str
    token_use: str
    session_id: str | None

    @classmethod
    def from_minted(cls, minted: r.Minted) -> ServiceAccountToken:
        row = minted.row
        return cls(
            refresh_token=minted.token,
            expires_at=row.expires_at,
            issued_at=row.issued_at,
            scopes=row.scopes.split(),
            tenant_id=row.tenant_id,
            kid=row.signing_kid,
            account=row.account,
            token_use="refresh",
            session_id=None,
        )


@strawberry.type(description="A minted token as listed (never the token itself).")
class ServiceAccountTokenItem:
    jti: str
    account: str
    tenant_id: uuid.UUID | None
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    fingerprint: str | None
    signing_kid: str

    @classmethod
    def from_row(cls, row: TokenRow) -> ServiceAccountTokenItem:
        return cls(
            jti=row.jti,
            account=row.account,
            tenant_id=row.tenant_id,
            scopes=row.scopes.split(),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_reason=row.revoke_reason,
            fingerprint=row.fingerprint,
            signing_kid=row.signing_kid,
        )


@strawberry.type
class ServiceAccountTokenPage:
    items: list[ServiceAccountTokenItem]
    total: int
    limit: int
    offset: int

    @classmethod
    def from_page(cls, page: Page[TokenRow], limit: int, offset: int) -> ServiceAccountTokenPage:
        items = [ServiceAccountTokenItem.from_row(row) for row in page.items]
        return cls(items=items, total=page.total, limit=limit, offset=offset)


@strawberry.type
class RevokedServiceAccountToken:
    jti: str


@strawberry.type
class ServiceAccountTokenRevokeResult:
    message: str
    data: RevokedServiceAccountToken

    @classmethod
    def from_outcome(cls, outcome: Outcome[str]) -> ServiceAccountTokenRevokeResult:
        return cls(message=outcome.message, data=RevokedServiceAccountToken(jti=outcome.data))


@strawberry.input
class ServiceAccountIssueInput:
    account: str
    scopes: list[str]
    tenant_id: str | None = None
    lifetime_minutes: int | None = None
    fingerprint: str | None = None
    force: bool = False


@strawberry.input
class BrowserServiceAccountIssueInput:
    account: str
    scopes: list[str]
    reason: str = strawberry.field(metadata=limited(Limit(min_length=10, max_length=512)))
    tenant_id: str | None = None
    lifetime_minutes: int | None = None
    fingerprint: str | None = None
    force: bool = False


@strawberry.input
class ServiceAccountTokenRevokeInput:
    reason: str | None = strawberry.field(default=None, metadata=limited(Limit(max_length=256)))


def _request(i: ServiceAccountIssueInput | BrowserServiceAccountIssueInput) -> r.IssueRequest:
    return r.IssueRequest(i.account, list(i.scopes), i.tenant_id, i.lifetime_minutes, i.fingerprint, i.force)


@strawberry.type
class RestQuery:
    @strawberry.field(
        extensions=allow(Authenticated()), description="Service-account tokens visible to the caller (operators: all)."
    )
    async def service_account_tokens(
        self,
        info: strawberry.Info,
        account: str | None = None,
        fingerprint: str | None = None,
        status: ServiceAccountTokenStatus = ServiceAccountTokenStatus.active,
        tenant_id: str | None = None,
        include_global: bool = False,
        limit: PageSize = 20,
        offset: Offset = 0,
    ) -> ServiceAccountTokenPage:
        page = await r.list_tokens(
            info.context,
            account=account,
            fingerprint=fingerprint,
            status=status.value,
            tenant_id=tenant_id,
            include_global=include_global,
            limit=limit,
            offset=offset,
        )
        return ServiceAccountTokenPage.from_page(page, limit, offset)


@strawberry.type
class RestMutation:
    @strawberry.mutation(
        extensions=allow(Authenticated()), description="Mint a service-account token (bootstrap secret required)."
    )
    async def issue_service_account_token(
        self, info: strawberry.Info, input: ServiceAccountIssueInput
    ) -> ServiceAccountToken:
        return ServiceAccountToken.from_minted(await r.issue(info.context, _request(input)))

    @strawberry.mutation(
        extensions=allow(Authenticated()), description="Mint a service-account token as a tenant admin or operator."
    )
    async def issue_service_account_token_from_browser(
        self, info: strawberry.Info, input: BrowserServiceAccountIssueInput
    ) -> ServiceAccountToken:
        return ServiceAccountToken.from_minted(await r.browser_issue(info.context, _request(input), input.reason))

    @strawberry.mutation(
        extensions=allow(Authenticated()), description="Revoke a service-account token; it stops working at once."
    )
    async def revoke_service_account_token(
        self, info: strawberry.Info, jti: str, input: ServiceAccountTokenRevokeInput
    ) -> ServiceAccountTokenRevokeResult:
        return ServiceAccountTokenRevokeResult.from_outcome(await r.revoke(info.context, jti, input.reason))


# -- the native graph ------------------------------------------------------------------------

TYPE = "ServiceAccountToken"
TENANT = "Tenant"  # the tenants domain's node: its global ids carry the tenant's UUID
MISSING = "Service-account token not found."
AUTHENTICATED = allow(Authenticated())


@strawberry.enum(name="ServiceAccountTokenStatus", description="Whether a service-account token works now.")
class TokenStatus(Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@strawberry.type(
    name="ServiceAccountToken",
    description="A refresh token minted for a service account, as listed: never the token itself, which is "
    "returned once, by the mutation that mints it.",
)
class TokenNode(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The token's row UUID.")
    jti: str = strawberry.field(description="The token's JWT id.")
    account: str = strawberry.field(description="The service account (a catalog name).")
    is_global: bool = strawberry.field(description="The account is global: the token belongs to no tenant.")
    scopes: list[str] = strawberry.field(description="What the token may do (the account's catalog order).")
    fingerprint: str | None = strawberry.field(description="The label given at minting, if any.")
    signing_kid: str = strawberry.field(description="The id of the key that signed it.")
    status: TokenStatus = strawberry.field(description="Whether it works now.")
    issued_at: datetime = strawberry.field(description="When it was minted.")
    expires_at: datetime = strawberry.field(description="When it stops working unless revoked before.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    revoked_reason: str | None = strawberry.field(description="Why it was revoked, if a reason was given.")

    @classmethod
    def from_row(cls, row: TokenRow) -> TokenNode:
        return cls(
            key=str(row.id),
            database_id=row.id,
            jti=row.jti,
            account=row.account,
            is_global=row.tenant_id is None,
            scopes=row.scopes.split(),
            fingerprint=row.fingerprint,
            signing_kid=row.signing_kid,
            status=TokenStatus(r.status_of(row)),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_reason=row.revoke_reason,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[TokenNode | None]:
        keys = [_uuid(i) for i in node_ids]
        found = await r.tokens_by_ids(info.context, [k for k in keys if k is not None])
        return [cls.from_row(found[k]) if k in found else None for k in keys]


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@strawberry.input(description="Which service-account tokens to list.")
class ServiceAccountTokenFilter:
    account: str | None = strawberry.field(default=None, description="Accounts whose name contains this.")
    fingerprint: str | None = strawberry.field(default=None, description="Tokens minted with this fingerprint.")
    status: TokenStatus | None = strawberry.field(default=None, description="Tokens in this status (any if null).")
    include_global: bool = strawberry.field(
        default=False, description="Include the tokens of global accounts (operators only)."
    )


def _tenant(value: strawberry.ID | None) -> str | None:
    """The tenant UUID (as the domain takes it) of a Tenant global id in `input.tenant`."""
    if value is None:
        return None
    key = database_key(value, TENANT)
    if key is None:
        message = "Not a tenant's id."
        raise InvalidInput(message, details=[{"loc": ["input", "tenant"], "msg": message}])
    return str(key)


@strawberry.input(description="The token to mint.")
class IssueServiceAccountTokenInput:
    account: str = strawberry.field(description="The service account (a catalog name).")
    scopes: list[str] = strawberry.field(description="Scopes the token carries: some of the account's.")
    tenant: strawberry.ID | None = strawberry.field(
        default=None,
        description="The tenant (its global id) a tenant-scoped account's token is for; a tenant admin's own "
        "tenant when omitted. Null for a global account.",
    )
    lifetime_minutes: int | None = strawberry.field(
        default=None, description="Shorter than the account's lifetime (its default and ceiling)."
    )
    fingerprint: str | None = strawberry.field(default=None, description="A label to find the token by.")


@strawberry.input(description="The token to mint, and why (the reason is kept for the audit).")
class IssueServiceAccountTokenFromBrowserInput(IssueServiceAccountTokenInput):
    reason: str = strawberry.field(
        description="Why the token is minted (10 to 512 characters).",
        metadata=bounded(Limit(min_length=10, max_length=512)),
    )


@strawberry.type(description="The result of issueServiceAccountToken.")
class IssueServiceAccountTokenPayload:
    token: TokenNode | None = strawberry.field(default=None, description="The new token, as listed.")
    refresh_token: str | None = strawberry.field(
        default=None, description="The token itself: shown this once, never again."
    )
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of issueServiceAccountTokenFromBrowser.")
class IssueServiceAccountTokenFromBrowserPayload(IssueServiceAccountTokenPayload):
    pass


@strawberry.input(description="The token to revoke.")
class RevokeServiceAccountTokenInput:
    id: strawberry.ID = strawberry.field(description="The token's global id.")
    reason: str | None = strawberry.field(
        default=None, description="Up to 256 characters.", metadata=bounded(Limit(max_length=256))
    )


@strawberry.type(description="The result of revokeServiceAccountToken.")
class RevokeServiceAccountTokenPayload:
    token: TokenNode | None = strawberry.field(default=None, description="The token, revoked.")
    user_errors: list[graph.UserError]


def _issue_request(i: IssueServiceAccountTokenInput) -> r.IssueRequest:
    return r.IssueRequest(i.account, list(i.scopes), _tenant(i.tenant), i.lifetime_minutes, i.fingerprint)


def _minted(minted: r.Minted) -> dict[str, Any]:
    return {"token": TokenNode.from_row(minted.row), "refresh_token": minted.token}


async def token_page(
    info: strawberry.Info,
    first: int | None,
    after: str | None,
    filter: ServiceAccountTokenFilter | None,
    tenant_id: str | None,
    *,
    operators_only_tenant: bool,
) -> graph.Connection[TokenNode]:
    """A page of the tokens `list_tokens` lets the caller see, of one tenant or (operators, with
    `tenant_id` None) every tenant's; `operators_only_tenant`: naming the tenant is an operator's
    privilege (not when it is the request's own)."""
    f = filter or ServiceAccountTokenFilter()

    def fetch(offset: int, limit: int) -> Any:
        return r.list_tokens(
            info.context,
            account=f.account,
            fingerprint=f.fingerprint,
            status=f.status.value if f.status else "all",
            tenant_id=tenant_id,
            include_global=f.include_global,
            limit=limit,
            offset=offset,
            operators_only_tenant=operators_only_tenant,
        )

    return await graph.paginate(fetch, TokenNode.from_row, first=first, after=after)


def tenant_key(tenant: strawberry.ID | None, argument: str) -> str | None:
    """The tenant a global id names, for a filter; a mistake in it is the caller's."""
    if tenant is None:
        return None
    key = database_key(tenant, TENANT)
    if key is None:
        raise InvalidInput(
            f"`{argument}` is not a tenant's id.",
            details=[{"loc": [argument], "msg": "not a tenant's id", "type": "invalid_id"}],
        )
    return str(key)


@strawberry.type
class Query:
    @strawberry.field(
        extensions=AUTHENTICATED,
        description="Service-account tokens of the tenant the request acts in, newest first (tenant admins and "
        "operators; `operator.serviceAccountTokens` lists every tenant's).",
    )
    async def service_account_tokens(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        filter: ServiceAccountTokenFilter | None = None,
    ) -> graph.Connection[TokenNode]:
        tenant = require_principal(info.context).tenant_id
        if tenant is None:
            raise Forbidden("This token acts in no tenant: operators list tokens through `operator`.")
        return await token_page(info, first, after, filter, str(tenant), operators_only_tenant=False)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=AUTHENTICATED,
        description="Mint a service-account token as platform automation (the bootstrap secret as bearer).",
    )
    async def issue_service_account_token(
        self, info: strawberry.Info, input: IssueServiceAccountTokenInput
    ) -> IssueServiceAccountTokenPayload:
        async def issue() -> dict[str, Any]:
            check_input(input)
            return _minted(await r.issue(info.context, _issue_request(input)))

        return await payload(IssueServiceAccountTokenPayload, issue())

    @strawberry.mutation(
        extensions=AUTHENTICATED,
        description="Mint a service-account token as a signed-in operator, or a tenant admin for their tenant.",
    )
    async def issue_service_account_token_from_browser(
        self, info: strawberry.Info, input: IssueServiceAccountTokenFromBrowserInput
    ) -> IssueServiceAccountTokenFromBrowserPayload:
        async def issue() -> dict[str, Any]:
            check_input(input)
            return _minted(await r.browser_issue(info.context, _issue_request(input), input.reason))

        return await payload(IssueServiceAccountTokenFromBrowserPayload, issue())

    @strawberry.mutation(
        extensions=AUTHENTICATED, description="Revoke a service-account token; it stops working at once."
    )
    async def revoke_service_account_token(
        self, info: strawberry.Info, input: RevokeServiceAccountTokenInput
    ) -> RevokeServiceAccountTokenPayload:
        async def revoke() -> dict[str, Any]:
            check_input(input)
            row = await r.revoke_token(info.context, input_key(input.id, TYPE, MISSING), input.reason)
            return {"token": TokenNode.from_row(row)}

        return await payload(RevokeServiceAccountTokenPayload, revoke(), missing="id")
