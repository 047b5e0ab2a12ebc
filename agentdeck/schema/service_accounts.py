"""Service-account tokens: mint, list, revoke. Rules in `domain/identity/service_accounts.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

import strawberry

from agentdeck.db.models.service_accounts import ServiceAccountToken as TokenRow
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Outcome, Page
from agentdeck.domain.identity import service_accounts as r
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
class Query:
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
class Mutation:
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
