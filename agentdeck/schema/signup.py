"""Access requests and invites: the native graph (`Query`, `Mutation`: the `SignupRequest` and
`SignupInvite` nodes) and the legacy fields the REST rows in rest_compat/routes.py run
(`RestQuery`, `RestMutation`). Rules in `domain/identity/signup.py`."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import strawberry
from strawberry import relay

from agentdeck.db.models.signup import SignupInvite as InviteRow
from agentdeck.db.models.signup import SignupRequest as RequestRow
from agentdeck.domain.common.results import Page
from agentdeck.domain.identity import invites
from agentdeck.domain.identity import signup as r
from agentdeck.domain.identity.auth import ACCEPT_TERMS
from agentdeck.schema import graph
from agentdeck.schema.access_native import batched, bounded, check_input, database_key, input_key, payload
from agentdeck.schema.auth import TERMS_DESCRIPTION, SignupPolicy, SignupRules
from agentdeck.schema.limits import Offset, limited
from agentdeck.schema.permissions import Scope, allow

OperatorPageSize = Annotated[int, strawberry.argument(metadata=limited(r.PAGE_SIZE))]
REQUESTS = allow(Scope(r.REQUESTS_SCOPE))
INVITES = allow(Scope(r.INVITES_SCOPE))


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
class RestQuery:
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
class RestMutation:
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


# -- the native graph ------------------------------------------------------------------------

REQUEST, INVITE = "SignupRequest", "SignupInvite"
REQUEST_MISSING, INVITE_MISSING = "Signup request not found.", "Invite not found."


@strawberry.enum(name="SignupRequestStatus", description="Where an access request stands.")
class RequestStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@strawberry.enum(name="SignupInviteStatus", description="Whether an invite can still be redeemed.")
class InviteStatus(enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _requests(info: strawberry.Info, keys: list[uuid.UUID]) -> list[Any]:
    return await batched(keys, partial(r.requests_by_ids, info.context))


async def _newest_invites(info: strawberry.Info, keys: list[uuid.UUID]) -> list[Any]:
    return await batched(keys, partial(r.newest_invites, info.context))


@strawberry.type(name="SignupRequest", description="Someone's request for access, and what an operator decided.")
class RequestNode(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The request's UUID.")
    email: str = strawberry.field(description="Who asks (lower-case).")
    organization: str = strawberry.field(description="The organization they name.")
    full_name: str = strawberry.field(description="Their name.")
    message: str | None = strawberry.field(description="What the person wrote, if anything.")
    status: RequestStatus = strawberry.field(description="Where the request stands.")
    decision_reason: str | None = strawberry.field(description="The approval's note, or the rejection's reason.")
    decided_at: datetime | None = strawberry.field(description="When an operator decided, if one has.")
    created_at: datetime = strawberry.field(description="When the request was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="The newest invite issued for this request (its approval's), if any.")
    async def invite(self, info: strawberry.Info) -> InviteNode | None:
        row = await graph.loader(info, "signup_request.invite", partial(_newest_invites, info)).load(self.database_id)
        return InviteNode.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: RequestRow) -> RequestNode:
        return cls(
            key=str(row.id),
            database_id=row.id,
            email=row.email,
            organization=row.organization,
            full_name=row.full_name,
            message=row.message,
            status=RequestStatus(row.status),
            decision_reason=row.decision_reason,
            decided_at=row.decided_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[RequestNode | None]:
        keys = [_uuid(i) for i in node_ids]
        found = await r.requests_by_ids(info.context, [k for k in keys if k is not None])
        return [cls.from_row(found[k]) if k in found else None for k in keys]


@strawberry.type(
    name="SignupInvite",
    description="An invite to register (only its hint is kept; the token is shown once, when issued).",
)
class InviteNode(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The invite's UUID.")
    token_hint: str = strawberry.field(description="The token's last 6 characters, to tell invites apart.")
    invited_email: str | None = strawberry.field(description="The only address that may redeem it, if set.")
    status: InviteStatus = strawberry.field(description="Derived when read: expiry and redemptions count.")
    max_redemptions: int = strawberry.field(description="How many registrations it admits.")
    redeemed_count: int = strawberry.field(description="How many it has admitted.")
    expires_at: datetime | None = strawberry.field(description="When it stops admitting anyone.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    note: str | None = strawberry.field(description="The operator's note.")
    created_at: datetime = strawberry.field(description="When it was issued.")
    signup_request_key: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The access request the invite was issued for, if any.")
    async def signup_request(self, info: strawberry.Info) -> RequestNode | None:
        if self.signup_request_key is None:
            return None
        row = await graph.loader(info, "signup_invite.request", partial(_requests, info)).load(self.signup_request_key)
        return RequestNode.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: InviteRow) -> InviteNode:
        return cls(
            key=str(row.id),
            database_id=row.id,
            token_hint=row.token_hint,
            invited_email=row.invited_email,
            status=InviteStatus(invites.status_of(row)),
            max_redemptions=row.max_redemptions,
            redeemed_count=row.redeemed_count,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            note=row.note,
            created_at=row.created_at,
            signup_request_key=row.signup_request_id,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[InviteNode | None]:
        keys = [_uuid(i) for i in node_ids]
        found = await r.invites_by_ids(info.context, [k for k in keys if k is not None])
        return [cls.from_row(found[k]) if k in found else None for k in keys]


@strawberry.input(description="Which access requests to list.")
class SignupRequestFilter:
    status: RequestStatus | None = strawberry.field(default=None, description="Requests in this status (any if null).")


@strawberry.input(description="Which invites to list.")
class SignupInviteFilter:
    status: InviteStatus | None = strawberry.field(default=None, description="Invites in this status (any if null).")
    invited_email: str | None = strawberry.field(default=None, description="Invites for this address.")
    signup_request_id: strawberry.ID | None = strawberry.field(
        default=None, description="Invites issued for this access request (its global id)."
    )


@strawberry.input(description="A request for access.")
class RequestAccessInput:
    email: str = strawberry.field(description="Where the invite is to be sent.")
    organization: str = strawberry.field(description="2 to 128 characters.")
    full_name: str = strawberry.field(description="2 to 128 characters.")
    accept_terms: bool = strawberry.field(metadata=bounded(ACCEPT_TERMS), description=TERMS_DESCRIPTION)
    message: str | None = strawberry.field(default=None, description="Up to 1000 characters.")
    honeypot: str | None = strawberry.field(default=None, description="Leave empty (a field for bots to fill).")


@strawberry.type(description="The result of requestAccess.")
class RequestAccessPayload:
    policy: SignupRules | None = strawberry.field(
        default=None, description="The signup policy: what happens next. The request itself is not shown."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="The request to approve, and its invite's terms.")
class ApproveSignupRequestInput:
    id: strawberry.ID = strawberry.field(description="The request's global id.")
    note: str | None = strawberry.field(default=None, description="Up to 512 characters.")
    invite_expires_in_hours: int = strawberry.field(
        default=r.DEFAULT_INVITE_HOURS, description=f"1 to {r.MAX_INVITE_HOURS}."
    )


@strawberry.type(description="The result of approveSignupRequest.")
class ApproveSignupRequestPayload:
    signup_request: RequestNode | None = strawberry.field(default=None, description="The request, approved.")
    invite: InviteNode | None = strawberry.field(default=None, description="The invite the approval issued.")
    invite_token: str | None = strawberry.field(
        default=None, description="The invite's token: shown this once, never again."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="The request to reject.")
class RejectSignupRequestInput:
    id: strawberry.ID = strawberry.field(description="The request's global id.")
    reason: str | None = strawberry.field(default=None, description="Up to 512 characters.")


@strawberry.type(description="The result of rejectSignupRequest.")
class RejectSignupRequestPayload:
    signup_request: RequestNode | None = strawberry.field(default=None, description="The request, rejected.")
    user_errors: list[graph.UserError]


@strawberry.input(description="The invite to issue.")
class IssueSignupInviteInput:
    invited_email: str | None = strawberry.field(default=None, description="The only address that may redeem it.")
    max_redemptions: int = strawberry.field(default=1, description="1 to 10.")
    expires_in_hours: int = strawberry.field(default=r.DEFAULT_INVITE_HOURS, description=f"1 to {r.MAX_INVITE_HOURS}.")
    note: str | None = strawberry.field(default=None, description="Up to 512 characters.")
    signup_request_id: strawberry.ID | None = strawberry.field(
        default=None, description="The access request it answers (its global id)."
    )


@strawberry.type(description="The result of issueSignupInvite.")
class IssueSignupInvitePayload:
    invite: InviteNode | None = strawberry.field(default=None, description="The new invite.")
    invite_token: str | None = strawberry.field(default=None, description="The token: shown this once, never again.")
    user_errors: list[graph.UserError]


@strawberry.input(description="The invite to revoke.")
class RevokeSignupInviteInput:
    id: strawberry.ID = strawberry.field(description="The invite's global id.")


@strawberry.type(description="The result of revokeSignupInvite.")
class RevokeSignupInvitePayload:
    invite: InviteNode | None = strawberry.field(default=None, description="The invite, revoked.")
    user_errors: list[graph.UserError]


@strawberry.type
class Query:
    @strawberry.field(extensions=REQUESTS, description="Access requests, newest first (operators).")
    async def signup_requests(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        filter: SignupRequestFilter | None = None,
    ) -> graph.Connection[RequestNode]:
        status = filter.status.value if filter and filter.status else None
        return await graph.paginate(
            lambda offset, limit: r.list_requests(info.context, status, limit, offset),
            RequestNode.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(extensions=INVITES, description="Invites, newest first (operators).")
    async def signup_invites(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        filter: SignupInviteFilter | None = None,
    ) -> graph.Connection[InviteNode]:
        f = filter or SignupInviteFilter()
        status = f.status.value if f.status else None
        request_id = None
        if f.signup_request_id is not None:
            request_id = database_key(f.signup_request_id, REQUEST)
            if request_id is None:  # names no request: no invite was issued for it
                return graph.connection_of([])
        return await graph.paginate(
            lambda offset, limit: r.list_invites(info.context, status, f.invited_email, request_id, limit, offset),
            InviteNode.from_row,
            first=first,
            after=after,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Ask for access while signup is by invite or approval.")
    async def request_access(self, info: strawberry.Info, input: RequestAccessInput) -> RequestAccessPayload:
        async def ask() -> dict[str, Any]:
            check_input(input)
            policy = await r.request_access(
                info.context, input.email, input.organization, input.full_name, input.message, input.honeypot
            )
            return {"policy": SignupRules.from_policy(policy)}

        return await payload(RequestAccessPayload, ask())

    @strawberry.mutation(extensions=REQUESTS, description="Approve a pending request; issues its invite.")
    async def approve_signup_request(
        self, info: strawberry.Info, input: ApproveSignupRequestInput
    ) -> ApproveSignupRequestPayload:
        async def approve() -> dict[str, Any]:
            key = input_key(input.id, REQUEST, REQUEST_MISSING)
            decision = await r.approve(info.context, key, input.note, input.invite_expires_in_hours)
            new = decision.invite
            return {
                "signup_request": RequestNode.from_row(decision.request),
                "invite": InviteNode.from_row(new.row) if new else None,
                "invite_token": new.token if new else None,
            }

        return await payload(ApproveSignupRequestPayload, approve(), missing="id")

    @strawberry.mutation(extensions=REQUESTS, description="Reject a pending request.")
    async def reject_signup_request(
        self, info: strawberry.Info, input: RejectSignupRequestInput
    ) -> RejectSignupRequestPayload:
        async def reject() -> dict[str, Any]:
            key = input_key(input.id, REQUEST, REQUEST_MISSING)
            decision = await r.reject(info.context, key, input.reason)
            return {"signup_request": RequestNode.from_row(decision.request)}

        return await payload(RejectSignupRequestPayload, reject(), missing="id")

    @strawberry.mutation(extensions=INVITES, description="Issue an invite (its token is returned once).")
    async def issue_signup_invite(
        self, info: strawberry.Info, input: IssueSignupInviteInput
    ) -> IssueSignupInvitePayload:
        i = input

        async def issue() -> dict[str, Any]:
            request_id = None
            if i.signup_request_id is not None:
                request_id = input_key(i.signup_request_id, REQUEST, REQUEST_MISSING, "signupRequestId")
            new = await r.issue(
                info.context, i.invited_email, i.max_redemptions, i.expires_in_hours, i.note, request_id
            )
            return {"invite": InviteNode.from_row(new.row), "invite_token": new.token}

        return await payload(IssueSignupInvitePayload, issue(), missing="signupRequestId")

    @strawberry.mutation(extensions=INVITES, description="Revoke an invite (idempotent: the first revocation stands).")
    async def revoke_signup_invite(
        self, info: strawberry.Info, input: RevokeSignupInviteInput
    ) -> RevokeSignupInvitePayload:
        async def revoke() -> dict[str, Any]:
            row = await r.revoke(info.context, input_key(input.id, INVITE, INVITE_MISSING))
            return {"invite": InviteNode.from_row(row)}

        return await payload(RevokeSignupInvitePayload, revoke(), missing="id")
