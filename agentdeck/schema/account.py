from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from agentdeck.auth.devices import fingerprint, mask_ip, parse_user_agent
from agentdeck.db.models.identity import AuthSession
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.identity import account as r
from agentdeck.schema.auth import SessionLogout
from agentdeck.schema.limits import Offset, PageSize
from agentdeck.schema.permissions import Authenticated, Scope, Verified, allow


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
class Query:
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
class Mutation:
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
