"""Access requests and invites: GraphQL fields (REST rows in rest_compat/routes.py run these)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import strawberry

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


@strawberry.type(description="A new invite, with its token: shown this once, never again.")
class SignupInviteIssue(SignupInvite):
    invite_token: str


@strawberry.type
class SignupRequestList:
    requests: list[SignupRequest]
    total: int


@strawberry.type
class SignupInviteList:
    invites: list[SignupInvite]
    total: int


@strawberry.type
class SignupRequestDecision:
    request: SignupRequest
    invite: SignupInviteIssue | None


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
    async def signup_requests(self, info: strawberry.Info, status: SignupRequestStatus | None = None,
                              limit: OperatorPageSize = 50, offset: Offset = 0) -> SignupRequestList:
        return await r.list_requests(info.context, _value(status), limit, offset)  # type: ignore[return-value]

    @strawberry.field(extensions=INVITES, description="Invites, newest first (operators).")
    async def signup_invites(self, info: strawberry.Info, status: SignupInviteStatus | None = None,
                             email: str | None = None, request_id: uuid.UUID | None = None,
                             limit: OperatorPageSize = 50, offset: Offset = 0) -> SignupInviteList:
        return await r.list_invites(  # type: ignore[return-value]
            info.context, _value(status), email, request_id, limit, offset)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Ask for access while signup is by invite or approval.")
    async def request_access(self, info: strawberry.Info, input: SignupRequestInput) -> SignupPolicy:
        return await r.request_access(  # type: ignore[return-value]
            info.context, input.email, input.organization, input.full_name, input.message, input.honeypot)

    @strawberry.mutation(extensions=REQUESTS, description="Approve a pending request; issues its invite.")
    async def approve_signup_request(self, info: strawberry.Info, request_id: uuid.UUID,
                                     input: SignupApprovalInput | None = None) -> SignupRequestDecision:
        i = input or SignupApprovalInput()
        return await r.approve(info.context, request_id, i.note, i.invite_expires_in_hours)  # type: ignore[return-value]

    @strawberry.mutation(extensions=REQUESTS, description="Reject a pending request.")
    async def reject_signup_request(self, info: strawberry.Info, request_id: uuid.UUID,
                                    input: SignupRejectionInput | None = None) -> SignupRequestDecision:
        return await r.reject(info.context, request_id, (input or SignupRejectionInput()).reason)  # type: ignore[return-value]

    @strawberry.mutation(extensions=INVITES, description="Issue an invite (its token is returned once).")
    async def issue_signup_invite(self, info: strawberry.Info, input: SignupInviteInput | None = None) -> SignupInviteIssue:
        i = input or SignupInviteInput()
        return await r.issue(  # type: ignore[return-value]
            info.context, i.invited_email, i.max_redemptions, i.expires_in_hours, i.note, i.signup_request_id)

    @strawberry.mutation(extensions=INVITES, description="Revoke an invite (idempotent).")
    async def revoke_signup_invite(self, info: strawberry.Info, invite_id: uuid.UUID) -> SignupInvite:
        return await r.revoke(info.context, invite_id)  # type: ignore[return-value]
