"""The signed-in person's account: their sessions, email verification and passwords.

Mailed tokens (verification, reset) are random, single use and short-lived; only their SHA-256
is stored. Every password change ends sessions through `auth.revoke_sessions`, so the access tokens of
those sessions stop working at once (revocation cache), not when they expire.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.auth.passwords import hash_password, password_problems, verify_password
from agentdeck.context import Context
from agentdeck.db.models.account import AccountToken
from agentdeck.db.models.identity import AuthSession, Membership, User
from agentdeck.db.session import rowcount
from agentdeck.domain.common import notifications
from agentdeck.domain.common.access import client_info
from agentdeck.domain.common.limits import EMAIL
from agentdeck.domain.common.results import Outcome, Page
from agentdeck.domain.identity.auth import require_user, revoke_sessions
from agentdeck.errors import BadRequest, InvalidInput, NotFound, RateLimited, Unauthenticated
from agentdeck.providers.mail import Mail

VERIFY_EMAIL, RESET_PASSWORD = "verify_email", "reset_password"
TOKEN_TTL = {VERIFY_EMAIL: timedelta(hours=24), RESET_PASSWORD: timedelta(hours=1)}
HOUR = 3600
# (key prefix, limit per hour) — the legacy quotas (NOTES §10).
SEND_LIMITS = (("verify_send:user", 3), ("verify_send:ip", 10))
RESET_LIMITS = (("reset:email", 5), ("reset:ip", 20))
# Wrong current passwords on change: a stolen access token must not become a password oracle.
CHANGE_FAILURES, CHANGE_WINDOW = 5, 900
FORGOT_MESSAGE = "If the account exists, password reset instructions have been sent."
BAD_TOKEN = {
    VERIFY_EMAIL: "Invalid or expired verification token; request a new verification email.",
    RESET_PASSWORD: "Invalid or expired password reset token; request a new reset email.",
}


@dataclass(frozen=True)
class SessionPage(Page[AuthSession]):
    """A page of the caller's sessions; `current` is the id of the session making the request."""

    current: str | None

    def is_current(self, session: AuthSession) -> bool:
        return str(session.id) == self.current


def _user_id(ctx: Context) -> uuid.UUID:
    return uuid.UUID(require_user(ctx).subject.removeprefix("user:"))


def _current_sid(ctx: Context) -> str | None:
    return str(ctx.principal.claims.get("sid")) if ctx.principal else None


# Sessions ------------------------------------------------------------------------------------


async def list_sessions(
    ctx: Context, include_revoked: bool, limit: int, offset: int, tenant_id: uuid.UUID | None
) -> SessionPage:
    user_id = _user_id(ctx)
    where = [AuthSession.user_id == user_id]
    if not include_revoked:
        where.append(AuthSession.revoked_at.is_(None))
    if tenant_id is not None:
        where.append(AuthSession.tenant_id == tenant_id)
    # A user's sessions span their tenants, so this reads across tenants, filtered by user.
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(AuthSession).where(*where)) or 0
        rows = (
            await s.scalars(
                select(AuthSession)
                .where(*where)
                .order_by(AuthSession.last_seen_at.desc(), AuthSession.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return SessionPage(list(rows), total, _current_sid(ctx))


def is_current(ctx: Context, session: AuthSession) -> bool:
    """Whether `session` is the one of the token making this request."""
    return str(session.id) == _current_sid(ctx)


async def sessions_by_ids(ctx: Context, session_ids: list[uuid.UUID]) -> list[AuthSession | None]:
    """The caller's own sessions with these ids, in order; None for another user's or a missing one."""
    user_id = _user_id(ctx)
    async with ctx.platform_session() as s:
        rows = (
            await s.scalars(
                select(AuthSession).where(AuthSession.id.in_(set(session_ids)), AuthSession.user_id == user_id)
            )
        ).all()
    found = {row.id: row for row in rows}
    return [found.get(i) for i in session_ids]


async def revoke_session(ctx: Context, session_id: uuid.UUID) -> Outcome[bool]:
    user_id = _user_id(ctx)
    async with ctx.platform_session() as s:
        owned = await s.scalar(
            select(AuthSession.id).where(
                AuthSession.id == session_id, AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
    # Another user's session and an unknown id answer alike: ids of others are not confirmed.
    if owned is None or not await revoke_sessions(ctx, [owned], "user_revoked"):
        raise NotFound("Session not found or already revoked.")
    return Outcome("Session revoked successfully.", True)


# Mailed tokens -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue_token(ctx: Context, user_id: uuid.UUID, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with ctx.platform_session() as s:
        s.add(
            AccountToken(
                user_id=user_id,
                purpose=purpose,
                token_hash=_digest(token),
                expires_at=now + TOKEN_TTL[purpose],
                created_at=now,
            )
        )
        await s.commit()
    return token


async def _find_token(ctx: Context, token: str, purpose: str) -> AccountToken:
    """The live token row, or 400. Does not consume it (see `_consume`)."""
    if not token:
        raise InvalidInput(
            "token must not be empty.", details=[{"field": "input.token", "message": "token must not be empty."}]
        )
    async with ctx.platform_session() as s:
        row = await s.scalar(
            select(AccountToken).where(AccountToken.token_hash == _digest(token), AccountToken.purpose == purpose)
        )
    if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
        raise BadRequest(BAD_TOKEN[purpose])
    return row


async def _consume(s: AsyncSession, row: AccountToken) -> None:
    """Mark `row` used, and with it the user's other tokens of that purpose (the newest link
    supersedes nothing: any one of them succeeding ends them all). The `used_at IS NULL` guard
    makes two concurrent redemptions of one token succeed at most once."""
    now = datetime.now(UTC)
    result = await s.execute(
        update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None)).values(used_at=now)
    )
    if rowcount(result) != 1:
        raise BadRequest(BAD_TOKEN[row.purpose])
    await s.execute(
        update(AccountToken)
        .where(AccountToken.user_id == row.user_id, AccountToken.purpose == row.purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )


async def _limit(ctx: Context, limits: tuple[tuple[str, int], ...], keys: tuple[str | None, ...]) -> None:
    for (prefix, per_hour), key in zip(limits, keys, strict=True):
        decision = await ctx.services.limiter.hit(f"{prefix}:{key}", per_hour, HOUR)
        if not decision.allowed:
            raise RateLimited(
                f"Rate limit exceeded ({per_hour} per hour). Retry after {decision.retry_after}s.",
                retry_after=decision.retry_after,
            )


def _link(ctx: Context, page: str, token: str) -> str:
    return f"{ctx.settings.public_url.rstrip('/')}/{page}?token={token}"


# Email verification --------------------------------------------------------------------------


async def mail_verification(ctx: Context, user: User) -> None:
    """Mail `user` a single-use verification link (registration and `send_verification`)."""
    token = await _issue_token(ctx, user.id, VERIFY_EMAIL)
    await notifications.send_notice(
        ctx.services,
        Mail(
            to=user.email,
            subject="Verify your email address",
            kind="email_verification",
            text=f"Confirm this address for your agentdeck account:\n\n{_link(ctx, 'verify-email', token)}\n\n"
            "The link works once and expires in 24 hours. If you did not sign up, ignore this mail.",
        ),
        notifications.SECURITY,
    )


async def send_verification(ctx: Context) -> Outcome[bool]:
    """Mail the caller a verification link; the outcome's data: whether the address is verified."""
    user_id = _user_id(ctx)
    async with ctx.platform_session() as s:
        user = await s.get(User, user_id)
    if user is None:
        raise Unauthenticated("Could not validate credentials")
    if user.email_verified_at is not None:
        return Outcome("Email already verified.", True)
    await _limit(ctx, SEND_LIMITS, (str(user_id), client_info(ctx)[1]))
    await mail_verification(ctx, user)
    return Outcome("Verification email sent.", False)


async def verify_email(ctx: Context, token: str) -> Outcome[None]:
    row = await _find_token(ctx, token, VERIFY_EMAIL)
    async with ctx.platform_session() as s:
        await _consume(s, row)
        user = await s.get(User, row.user_id)
        if user is not None and user.email_verified_at is None:
            user.email_verified_at = datetime.now(UTC)
        await s.commit()
    # Tokens issued from now on (login, refresh) carry email_verified=true: `auth._issue` reads it.
    return Outcome("Email verified successfully.", None)


# Passwords -----------------------------------------------------------------------------------


def _check_new_password(ctx: Context, password: str, email: str, field: str = "input.new_password") -> None:
    problems = [
        {"field": field, "message": p}
        for p in password_problems(password, email=email, min_length=ctx.settings.password_min_length)
    ]
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


async def _sessions_of(ctx: Context, user_id: uuid.UUID, keep: str | None = None) -> list[uuid.UUID]:
    async with ctx.platform_session() as s:
        ids = (
            await s.scalars(
                select(AuthSession.id).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            )
        ).all()
    return [i for i in ids if str(i) != keep]


async def forgot_password(ctx: Context, email: str) -> Outcome[None]:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput(
            "value is not a valid email address",
            details=[{"field": "input.email", "message": "value is not a valid email address"}],
        )
    await _limit(ctx, RESET_LIMITS, (email, client_info(ctx)[1]))
    async with ctx.platform_session() as s:
        user = await s.scalar(select(User).where(User.email == email))
    # Same answer either way: the response must not tell who has an account.
    if user is not None and user.status == "active":
        token = await _issue_token(ctx, user.id, RESET_PASSWORD)
        await notifications.send_notice(
            ctx.services,
            Mail(
                to=user.email,
                subject="Reset your password",
                kind="password_reset",
                text=f"Choose a new agentdeck password:\n\n{_link(ctx, 'reset-password', token)}\n\n"
                "The link works once and expires in 1 hour. If you did not ask for it, ignore this mail.",
            ),
            notifications.SECURITY,
        )
    return Outcome(FORGOT_MESSAGE, None)


async def confirm_password_reset(ctx: Context, token: str, new_password: str) -> Outcome[None]:
    row = await _find_token(ctx, token, RESET_PASSWORD)
    async with ctx.platform_session() as s:
        user = await s.get(User, row.user_id)
        if user is None or user.status != "active":
            raise BadRequest(BAD_TOKEN[RESET_PASSWORD])
        # Checked before the token is consumed, so a weak password does not burn the link.
        _check_new_password(ctx, new_password, user.email)
        user.password_hash = await hash_password(new_password)
        await _consume(s, row)
        await s.commit()
    await revoke_sessions(ctx, await _sessions_of(ctx, row.user_id), "password_reset")
    return Outcome("Password has been reset.", None)


async def change_password(ctx: Context, current_password: str, new_password: str) -> Outcome[None]:
    user_id = _user_id(ctx)
    failures = f"password_change_fail:user:{user_id}"
    limiter = ctx.services.limiter
    gate = await limiter.peek(failures, CHANGE_FAILURES, CHANGE_WINDOW)
    if not gate.allowed:
        raise RateLimited(f"Too many wrong passwords. Retry after {gate.retry_after}s.", retry_after=gate.retry_after)
    async with ctx.platform_session() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise Unauthenticated("Could not validate credentials")
        if not await verify_password(user.password_hash, current_password):
            await limiter.hit(failures, CHANGE_FAILURES, CHANGE_WINDOW)
            # 400, not 401: the bearer token is fine, and a 401 makes clients sign the user out.
            raise BadRequest("Current password is incorrect.")
        _check_new_password(ctx, new_password, user.email)
        if current_password == new_password:
            raise InvalidInput(
                "The new password must differ from the current one.",
                details=[
                    {"field": "input.new_password", "message": "The new password must differ from the current one."}
                ],
            )
        user.password_hash = await hash_password(new_password)
        await s.commit()
    await limiter.reset(failures)
    await revoke_sessions(ctx, await _sessions_of(ctx, user_id, keep=_current_sid(ctx)), "password_change")
    return Outcome("Password changed successfully.", None)


async def admin_reset_password(ctx: Context, user_id: uuid.UUID, new_password: str) -> Outcome[None]:
    """Support resets a member's password (scope `support:read`, checked by the field)."""
    tenant_id = require_user(ctx).tenant_id
    async with ctx.platform_session() as s:
        user = None
        if tenant_id is not None:
            user = await s.scalar(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(User.id == user_id, Membership.tenant_id == tenant_id)
            )
        # Users outside the caller's tenant are "not found": their existence is not confirmed.
        if user is None:
            raise NotFound("User not found.")
        _check_new_password(ctx, new_password, user.email)
        user.password_hash = await hash_password(new_password)
        await s.commit()
    await revoke_sessions(ctx, await _sessions_of(ctx, user_id), "admin_password_reset")
    return Outcome("Password reset successfully.", None)
