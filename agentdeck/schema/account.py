"""The signed-in person's account in the graph: ending sessions, verifying the email address,
forgotten and changed passwords. The native mutations answer payloads with `userErrors`; the
`Rest*` roots keep the legacy envelopes the REST routes run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from agentdeck.auth.devices import fingerprint, mask_ip, parse_user_agent
from agentdeck.db.models.identity import AuthSession
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.identity import account as r
from agentdeck.domain.identity import auth as auth_domain
from agentdeck.domain.identity import tenants as tenancy
from agentdeck.errors import BadRequest, NotFound
from agentdeck.schema import graph
from agentdeck.schema.auth import SessionLogout, User, UserSession, decode_id, payload
from agentdeck.schema.limits import Offset, PageSize
from agentdeck.schema.permissions import Authenticated, Scope, Verified, allow

# -- native ------------------------------------------------------------------------------------


@strawberry.input(description="The session to end.")
class RevokeSessionInput:
    session_id: strawberry.ID = strawberry.field(description="One of the caller's sessions (its global id).")


@strawberry.type(description="The result of `revokeSession`.")
class RevokeSessionPayload:
    session: UserSession | None = strawberry.field(default=None, description="The session, ended.")
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `sendEmailVerification`.")
class SendEmailVerificationPayload:
    sent: bool | None = strawberry.field(
        default=None, description="Whether a link was mailed: false when the address is verified already."
    )
    user: User | None = strawberry.field(default=None, description="The caller.")
    user_errors: list[graph.UserError]


@strawberry.input(description="The token of a mailed verification link.")
class VerifyEmailInput:
    token: str = strawberry.field(description="The `token` of the mailed link.")


@strawberry.type(description="The result of `verifyEmail`.")
class VerifyEmailPayload:
    email_verified: bool | None = strawberry.field(
        default=None,
        description="True once verified. Access tokens issued before still say `email_verified: false`: "
        "refresh them (`refreshSession`).",
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="The address of the account whose password is forgotten.")
class ForgotPasswordInput:
    email: str = strawberry.field(description="The account's address.")


@strawberry.type(description="The result of `forgotPassword`.")
class ForgotPasswordPayload:
    requested: bool | None = strawberry.field(
        default=None,
        description="True once the request is taken. It is the same whether or not the account exists: "
        "a reset link is mailed only if it does.",
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="A mailed reset token and the new password.")
class ConfirmPasswordResetInput:
    token: str = strawberry.field(description="The `token` of the mailed link.")
    new_password: str = strawberry.field(description="A passphrase the password rules accept.")


@strawberry.type(description="The result of `confirmPasswordReset`.")
class ConfirmPasswordResetPayload:
    password_reset: bool | None = strawberry.field(
        default=None, description="True once the password is changed; every session of the user has ended."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="The caller's current password and the new one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="A passphrase the password rules accept, not the current one.")


@strawberry.type(description="The result of `changePassword`.")
class ChangePasswordPayload:
    user: User | None = strawberry.field(default=None, description="The caller, whose other sessions have ended.")
    user_errors: list[graph.UserError]


@strawberry.input(description="A member of the caller's tenant and their new password.")
class ResetUserPasswordInput:
    user_id: strawberry.ID = strawberry.field(description="The member (their global id).")
    new_password: str = strawberry.field(description="A passphrase the password rules accept.")


@strawberry.type(description="The result of `resetUserPassword`.")
class ResetUserPasswordPayload:
    user: User | None = strawberry.field(default=None, description="The member, whose sessions have ended.")
    user_errors: list[graph.UserError]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="End one of the caller's sessions.", extensions=allow(Authenticated()))
    async def revoke_session(self, info: strawberry.Info, input: RevokeSessionInput) -> RevokeSessionPayload:
        ctx = info.context

        async def action() -> dict[str, Any]:
            session_id = decode_id(input.session_id, "UserSession", "session_id")
            await r.revoke_session(ctx, session_id)
            row = (await r.sessions_by_ids(ctx, [session_id]))[0]
            return {"session": UserSession.from_row(row, r.is_current(ctx, row)) if row else None}

        return await payload(RevokeSessionPayload, action(), {NotFound: ["input", "sessionId"]})

    @strawberry.mutation(
        description="Mail the caller a link that verifies their email address (a few per hour: then RATE_LIMITED).",
        extensions=allow(Authenticated()),
    )
    async def send_email_verification(self, info: strawberry.Info) -> SendEmailVerificationPayload:
        async def action() -> dict[str, Any]:
            already = (await r.send_verification(info.context)).data
            return {"sent": not already, "user": User.from_profile(await auth_domain.viewer(info.context))}

        return await payload(SendEmailVerificationPayload, action())

    @strawberry.mutation(description="Redeem an email verification token (single use).")
    async def verify_email(self, info: strawberry.Info, input: VerifyEmailInput) -> VerifyEmailPayload:
        async def action() -> dict[str, Any]:
            await r.verify_email(info.context, input.token)
            return {"email_verified": True}

        return await payload(VerifyEmailPayload, action(), {BadRequest: ["input", "token"]})

    @strawberry.mutation(description="Mail a password reset link, if the account exists (rate limited).")
    async def forgot_password(self, info: strawberry.Info, input: ForgotPasswordInput) -> ForgotPasswordPayload:
        async def action() -> dict[str, Any]:
            await r.forgot_password(info.context, input.email)
            return {"requested": True}

        return await payload(ForgotPasswordPayload, action())

    @strawberry.mutation(description="Redeem a password reset token; ends every session of the user.")
    async def confirm_password_reset(
        self, info: strawberry.Info, input: ConfirmPasswordResetInput
    ) -> ConfirmPasswordResetPayload:
        async def action() -> dict[str, Any]:
            await r.confirm_password_reset(info.context, input.token, input.new_password)
            return {"password_reset": True}

        return await payload(ConfirmPasswordResetPayload, action(), {BadRequest: ["input", "token"]})

    @strawberry.mutation(
        description="Change the caller's password; ends their other sessions. A wrong current password is a "
        "user error; after a few, RATE_LIMITED.",
        extensions=allow(Authenticated()),
    )
    async def change_password(self, info: strawberry.Info, input: ChangePasswordInput) -> ChangePasswordPayload:
        async def action() -> dict[str, Any]:
            await r.change_password(info.context, input.current_password, input.new_password)
            return {"user": User.from_profile(await auth_domain.viewer(info.context))}

        return await payload(ChangePasswordPayload, action(), {BadRequest: ["input", "currentPassword"]})

    @strawberry.mutation(
        description="Support: set a tenant member's password; ends their sessions.",
        extensions=allow(Verified(), Scope("support:read")),
    )
    async def reset_user_password(
        self, info: strawberry.Info, input: ResetUserPasswordInput
    ) -> ResetUserPasswordPayload:
        ctx = info.context

        async def action() -> dict[str, Any]:
            user_id = decode_id(input.user_id, "User", "user_id")
            await r.admin_reset_password(ctx, user_id, input.new_password)
            member = (await tenancy.members_by_user_ids(ctx, [user_id]))[0]
            return {"user": User.from_member(member) if member else None}

        return await payload(ResetUserPasswordPayload, action(), {NotFound: ["input", "userId"]})


# -- the legacy REST shapes (the routes run these) ---------------------------------------------


@strawberry.type(description="Client metadata read from a session's user agent.")
class SessionClientInfo:
    platform: str | None
    browser: str | None
    device: str | None
    user_agent: str | None

    @classmethod
    def from_user_agent(cls, user_agent: str | None) -> SessionClientInfo:
        client = parse_user_agent(user_agent)
        return cls(platform=client.platform, browser=client.browser, device=client.device, user_agent=client.user_agent)


@strawberry.type(description="Approximate location of a session (GeoIP; unknown when not configured).")
class SessionLocationInfo:
    city: str | None
    region: str | None
    country: str | None


@strawberry.type(description="One of the caller's sign-in sessions.")
class UserSessionItem:
    id: uuid.UUID
    tenant_id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    client: SessionClientInfo
    ip_address_masked: str | None
    fingerprint: str | None
    location: SessionLocationInfo | None
    current: bool = strawberry.field(description="The session of the token making this request.")

    @classmethod
    def from_row(cls, row: AuthSession, current: bool) -> UserSessionItem:
        """The session as its user may see it: the address masked, no GeoIP (always unknown)."""
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            revoked_at=row.revoked_at,
            client=SessionClientInfo.from_user_agent(row.user_agent),
            ip_address_masked=mask_ip(row.ip_address),
            fingerprint=fingerprint(row.ip_address, row.user_agent),
            location=None,
            current=current,
        )


@strawberry.type
class UserSessionList:
    sessions: list[UserSessionItem]
    total: int
    limit: int
    offset: int

    @classmethod
    def from_page(cls, page: r.SessionPage, limit: int, offset: int) -> UserSessionList:
        sessions = [UserSessionItem.from_row(row, page.is_current(row)) for row in page.items]
        return cls(sessions=sessions, total=page.total, limit=limit, offset=offset)


@strawberry.type
class SessionRevokeResult:
    message: str
    data: SessionLogout

    @classmethod
    def from_outcome(cls, outcome: Outcome[bool]) -> SessionRevokeResult:
        return cls(message=outcome.message, data=SessionLogout(revoked=outcome.data))


@strawberry.type
class EmailVerificationStatus:
    email_verified: bool


@strawberry.type
class EmailVerificationSendResult:
    message: str
    data: EmailVerificationStatus

    @classmethod
    def from_outcome(cls, outcome: Outcome[bool]) -> EmailVerificationSendResult:
        return cls(message=outcome.message, data=EmailVerificationStatus(email_verified=outcome.data))


@strawberry.type(description="A completed account action; `data` is always null.")
class AccountActionResult:
    message: str
    data: None = None

    @classmethod
    def from_outcome(cls, outcome: Outcome[None]) -> AccountActionResult:
        return cls(message=outcome.message)


@strawberry.input
class EmailVerificationConfirmInput:
    token: str


@strawberry.input
class PasswordForgotInput:
    email: str


@strawberry.input
class PasswordResetConfirmInput:
    token: str
    new_password: str


@strawberry.input
class PasswordChangeInput:
    current_password: str
    new_password: str


@strawberry.input
class PasswordResetInput:
    user_id: uuid.UUID
    new_password: str


@strawberry.type
class RestQuery:
    @strawberry.field(
        description="The caller's sign-in sessions, newest activity first.", extensions=allow(Authenticated())
    )
    async def user_sessions(
        self,
        info: strawberry.Info,
        include_revoked: bool = False,
        limit: PageSize = 20,
        offset: Offset = 0,
        tenant_id: uuid.UUID | None = None,
    ) -> UserSessionList:
        page = await r.list_sessions(info.context, include_revoked, limit, offset, tenant_id)
        return UserSessionList.from_page(page, limit, offset)


@strawberry.type
class RestMutation:
    @strawberry.mutation(description="Revoke one of the caller's sessions.", extensions=allow(Authenticated()))
    async def revoke_session(self, info: strawberry.Info, session_id: uuid.UUID) -> SessionRevokeResult:
        return SessionRevokeResult.from_outcome(await r.revoke_session(info.context, session_id))

    @strawberry.mutation(
        description="Mail the caller a link that verifies their email address.", extensions=allow(Authenticated())
    )
    async def send_email_verification(self, info: strawberry.Info) -> EmailVerificationSendResult:
        return EmailVerificationSendResult.from_outcome(await r.send_verification(info.context))

    @strawberry.mutation(description="Redeem an email verification token.")
    async def verify_email(self, info: strawberry.Info, input: EmailVerificationConfirmInput) -> AccountActionResult:
        return AccountActionResult.from_outcome(await r.verify_email(info.context, input.token))

    @strawberry.mutation(description="Mail a password reset link, if the account exists.")
    async def forgot_password(self, info: strawberry.Info, input: PasswordForgotInput) -> AccountActionResult:
        return AccountActionResult.from_outcome(await r.forgot_password(info.context, input.email))

    @strawberry.mutation(description="Redeem a password reset token; ends every session of the user.")
    async def confirm_password_reset(
        self, info: strawberry.Info, input: PasswordResetConfirmInput
    ) -> AccountActionResult:
        return AccountActionResult.from_outcome(
            await r.confirm_password_reset(info.context, input.token, input.new_password)
        )

    @strawberry.mutation(
        description="Change the caller's password; ends their other sessions.", extensions=allow(Authenticated())
    )
    async def change_password(self, info: strawberry.Info, input: PasswordChangeInput) -> AccountActionResult:
        return AccountActionResult.from_outcome(
            await r.change_password(info.context, input.current_password, input.new_password)
        )

    @strawberry.mutation(
        description="Support: set a tenant member's password; ends their sessions.",
        extensions=allow(Verified(), Scope("support:read")),
    )
    async def reset_user_password(self, info: strawberry.Info, input: PasswordResetInput) -> AccountActionResult:
        return AccountActionResult.from_outcome(
            await r.admin_reset_password(info.context, input.user_id, input.new_password)
        )
