"""Access requests and invites: GraphQL fields (REST rows in rest_compat/routes.py run these)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from agentdeck.db.models.signup import SignupInvite as InviteRow
from agentdeck.db.models.signup import SignupRequest as RequestRow
from agentdeck.domain.common.results import Page
from agentdeck.domain.identity import invites
from agentdeck.domain.identity import signup as r
from agentdeck.domain.identity.auth import ACCEPT_TERMS
from agentdeck.schema.auth import TERMS_DESCRIPTION, SignupPolicy
from agentdeck.schema.limits import Offset, limited
from agentdeck.schema.permissions import Scope, allow

OperatorPageSize = Annotated[int, strawberry.argument(metadata=limited(r.PAGE_SIZE))]
REQUESTS = allow(Scope("auth:signup_requests"))
INVITES = allow(Scope("auth:invites"))


@strawberry.enum
class SignupRequestStatus(enum.Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


@strawberry.enum
class SignupInviteStatus(enum.Enum):
    active = "active"
    revoked = "revoked"
    expired = "expired"
    exhausted = "exhausted"


@strawberry.type(description="An access request and what an operator decided.")
class SignupRequest:
    id: uuid.UUID
    email: str
    organization: str | None
    full_name: str | None
    status: SignupRequestStatus
    created_at: datetime
    decision_reason: str | None
    invite_token_hint: str | None

    @classmethod
    def from_row(cls, row: RequestRow, invite_token_hint: str | None) -> SignupRequest:
        return cls(
            id=row.id,
            email=row.email,
            organization=row.organization,
            full_name=row.full_name,
            status=SignupRequestStatus(row.status),
            created_at=row.created_at,
            decision_reason=row.decision_reason,
            invite_token_hint=invite_token_hint,
        )


@strawberry.type(description="An invite; `expired` and `exhausted` are derived when read.")
class SignupInvite:
    id: uuid.UUID
    token_hint: str
    invited_email: str | None
    status: SignupInviteStatus
    max_redemptions: int
    redeemed_count: int
    expires_at: datetime | None
    created_at: datetime
    signup_request_id: uuid.UUID | None
    note: str | None

    @classmethod
    def from_row(cls, row: InviteRow) -> SignupInvite:
        return cls(
            id=row.id,
            token_hint=row.token_hint,
            invited_email=row.invited_email,
            status=SignupInviteStatus(invites.status_of(row)),
            max_redemptions=row.max_redemptions,
            redeemed_count=row.redeemed_count,
            expires_at=row.expires_at,
            created_at=row.created_at,
            signup_request_id=row.signup_request_id,
            note=row.note,
        )


@strawberry.type(description="A new invite, with its token: shown this once, never again.")
class SignupInviteIssue(SignupInvite):
    invite_token: str

    @classmethod
    def from_new(cls, new: r.NewInvite) -> SignupInviteIssue:
        return cls(**vars(SignupInvite.from_row(new.row)), invite_token=new.token)


@strawberry.type
class SignupRequestList:
    requests: list[SignupRequest]
    total: int

    @classmethod
    def from_page(cls, page: r.RequestPage) -> SignupRequestList:
        return cls(
            requests=[SignupRequest.from_row(row, page.hints.get(row.id)) for row in page.items], total=page.total
        )


@strawberry.type
class SignupInviteList:
    invites: list[SignupInvite]
    total: int

    @classmethod
    def from_page(cls, page: Page[InviteRow]) -> SignupInviteList:
        return cls(invites=[SignupInvite.from_row(row) for row in page.items], total=page.total)


@strawberry.type
class SignupRequestDecision:
    request: SignupRequest
    invite: SignupInviteIssue | None

    @classmethod
    def from_decision(cls, decision: r.Decision) -> SignupRequestDecision:
        invite = decision.invite
        return cls(
            request=SignupRequest.from_row(decision.request, invite.row.token_hint if invite else None),
            invite=SignupInviteIssue.from_new(invite) if invite else None,
        )


@strawberry.input
class SignupRequestInput:
    email: str
    organization: str
    full_name: str
    accept_terms: bool = strawberry.field(metadata=limited(ACCEPT_TERMS), description=TERMS_DESCRIPTION)
    message: str | None = None
    honeypot: str | None = None


@strawberry.input
class SignupApprovalInput:
    note: str | None = None
    invite_expires_in_hours: int | None = r.DEFAULT_INVITE_HOURS


@strawberry.input
class SignupRejectionInput:
    reason: str | None = None


@strawberry.input
class SignupInviteInput:
    invited_email: str | None = None
    max_redemptions: int = 1
    expires_in_hours: int | None = r.DEFAULT_INVITE_HOURS
    note: str | None = None
    signup_request_id: uuid.UUID | None = None


def _value(status: enum.Enum | None) -> str | None:
    return status.value if status is not None else None


@strawberry.type
class Query:
    @strawberry.field(extensions=REQUESTS, description="Access requests, newest first (operators).")
    async def signup_requests(
        self,
        info: strawberry.Info,
        status: SignupRequestStatus | None = None,
        limit: OperatorPageSize = 50,
        offset: Offset = 0,
    ) -> SignupRequestList:
        return SignupRequestList.from_page(await r.list_requests(info.context, _value(status), limit, offset))

    @strawberry.field(extensions=INVITES, description="Invites, newest first (operators).")
    async def signup_invites(
        self,
        info: strawberry.Info,
        status: SignupInviteStatus | None = None,
        email: str | None = None,
        request_id: uuid.UUID | None = None,
        limit: OperatorPageSize = 50,
        offset: Offset = 0,
    ) -> SignupInviteList:
        return SignupInviteList.from_page(
            await r.list_invites(info.context, _value(status), email, request_id, limit, offset)
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Ask for access while signup is by invite or approval.")
    async def request_access(self, info: strawberry.Info, input: SignupRequestInput) -> SignupPolicy:
        return SignupPolicy.from_policy(
            await r.request_access(
                info.context, input.email, input.organization, input.full_name, input.message, input.honeypot
            )
        )

    @strawberry.mutation(extensions=REQUESTS, description="Approve a pending request; issues its invite.")
    async def approve_signup_request(
        self, info: strawberry.Info, request_id: uuid.UUID, input: SignupApprovalInput | None = None
    ) -> SignupRequestDecision:
        i = input or SignupApprovalInput()
        return SignupRequestDecision.from_decision(
            await r.approve(info.context, request_id, i.note, i.invite_expires_in_hours)
        )

    @strawberry.mutation(extensions=REQUESTS, description="Reject a pending request.")
    async def reject_signup_request(
        self, info: strawberry.Info, request_id: uuid.UUID, input: SignupRejectionInput | None = None
    ) -> SignupRequestDecision:
        reason = (input or SignupRejectionInput()).reason
        return SignupRequestDecision.from_decision(await r.reject(info.context, request_id, reason))

    @strawberry.mutation(extensions=INVITES, description="Issue an invite (its token is returned once).")
    async def issue_signup_invite(
        self, info: strawberry.Info, input: SignupInviteInput | None = None
    ) -> SignupInviteIssue:
        i = input or SignupInviteInput()
        return SignupInviteIssue.from_new(
            await r.issue(
                info.context, i.invited_email, i.max_redemptions, i.expires_in_hours, i.note, i.signup_request_id
            )
        )

    @strawberry.mutation(extensions=INVITES, description="Revoke an invite (idempotent).")
    async def revoke_signup_invite(self, info: strawberry.Info, invite_id: uuid.UUID) -> SignupInvite:
        return SignupInvite.from_row(await r.revoke(info.context, invite_id))
