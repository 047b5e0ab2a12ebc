"""Identity: registration, sign-in, token refresh with rotation, sign-out, the current user.

Tokens are Ed25519 JWTs (auth/tokens.py). Every sign-in is an AuthSession whose refresh tokens
form one family: refreshing rotates `refresh_jti`; presenting an already-used refresh token
revokes the whole session (a stolen token cannot outlive its theft for long).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.auth.passwords import burn_time, hash_password, needs_rehash, verify_password
from agentdeck.auth.tenancy import Principal
from agentdeck.auth.tokens import LEEWAY_SECONDS, IssuedToken, TokenInvalid
from agentdeck.context import Context
from agentdeck.db.models import Tenant
from agentdeck.db.models.identity import ROLES, AuthSession, Membership, User
from agentdeck.db.models.mfa import MfaMethod
from agentdeck.db.session import lock_row, rowcount
from agentdeck.domain import activity
from agentdeck.domain.common.access import client_info, require_principal
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.identity import mfa
from agentdeck.domain.identity.login_throttle import LoginThrottle
from agentdeck.errors import (
    BadRequest,
    Forbidden,
    Unauthenticated,
)

log = logging.getLogger("agentdeck.auth")

TENANT_SCOPES = {
    "owner": [
        "conversations:read",
        "conversations:write",
        "conversations:delete",
        "workflows:delete",
        "tools:read",
        "billing:read",
        "billing:manage",
        "support:read",
        "activity:read",
    ],
    "member": ["conversations:read", "conversations:write", "tools:read"],
    "viewer": ["conversations:read", "tools:read"],
}
TENANT_SCOPES["admin"] = TENANT_SCOPES["owner"]
OPERATOR_SCOPES = ["platform:operator", "auth:invites", "auth:signup_requests", "support:read", "activity:read"]

BAD_CREDENTIALS = "Incorrect email or password."


class TenantRequired(BadRequest):
    """A user of several tenants signed in without naming one (the answer says the password was right)."""


# Declared on `accept_terms` of registration and access requests; the schema enforces it.
ACCEPT_TERMS = Limit(const=True, message="Terms of service must be accepted: send accept_terms: true.")


@dataclass(frozen=True)
class SignedIn:
    """A session signed in, or refreshed: its row and the new token pair, which grant `scopes`."""

    session: AuthSession
    access: IssuedToken
    refresh: IssuedToken
    scopes: list[str]
    email_verified: bool  # what the tokens say
    user: User
    role: str  # the user's role in the session's tenant


@dataclass(frozen=True)
class MfaChallenge:
    """A sign-in whose password was right, waiting for a second factor: the challenge token
    (`token_use="mfa_challenge"`, short-lived) and the user's active methods."""

    token: IssuedToken
    methods: list[MfaMethod]


@dataclass(frozen=True)
class SignupPolicy:
    """Who may sign up (`AGENTDECK_SIGNUP_POLICY`): `public`, `invite_only` or `approval`."""

    policy: str

    @property
    def invite_required(self) -> bool:
        return self.policy != "public"

    @property
    def request_access_enabled(self) -> bool:
        return self.policy in ("invite_only", "approval")


@dataclass(frozen=True)
class Profile:
    """The caller as the database knows them now: the user, the tenant of their token and their
    role in it (None without one), and the scopes of the token."""

    user: User
    tenant: Tenant | None
    role: str | None
    scopes: list[str]


def signup_policy(ctx: Context) -> SignupPolicy:
    return SignupPolicy(ctx.settings.signup_policy)


def scopes_for(role: str, user: User) -> list[str]:
    scopes = list(TENANT_SCOPES[role])
    if user.platform_role == "platform_operator":
        scopes += [s for s in OPERATOR_SCOPES if s not in scopes]
    return scopes


async def issue_session(ctx: Context, user: User, membership: Membership, session: AuthSession) -> SignedIn:
    tokens = ctx.services.tokens
    scopes = scopes_for(membership.role, user)
    verified = user.email_verified_at is not None
    access = tokens.issue_access(
        user_id=user.id,
        tenant_id=membership.tenant_id,
        roles=[membership.role],
        scopes=scopes,
        session_id=session.id,
        email_verified=verified,
    )
    refresh = tokens.issue_refresh(
        subject=f"user:{user.id}",
        tenant_id=membership.tenant_id,
        scopes=scopes,
        session_id=session.id,
        email_verified=verified,
        account=f"user:{user.id}",
    )
    session.refresh_jti = refresh.jti
    return SignedIn(session, access, refresh, scopes, verified, user, membership.role)


async def login(ctx: Context, email: str, password: str, tenant_id: uuid.UUID | None) -> SignedIn | MfaChallenge:
    """A session, or, for a user with MFA on, a challenge to complete with a code
    (`complete_mfa_sign_in`): the password alone then opens nothing."""
    email = email.strip().lower()
    user_agent, ip = client_info(ctx)
    throttle = LoginThrottle(ctx, email, ip)
    await throttle.admit()

    async with ctx.platform_session() as s:
        user = await s.scalar(select(User).where(User.email == email))
        if user is None:
            await burn_time(password)
        if user is None or not await verify_password(user.password_hash, password):
            raise Unauthenticated(BAD_CREDENTIALS)
        if user.status != "active":
            await throttle.succeeded()  # the answer says the password was right: not a guess
            raise Forbidden("User account is disabled.")
        memberships = (await s.scalars(select(Membership).where(Membership.user_id == user.id))).all()
        if tenant_id is not None:
            memberships = [m for m in memberships if m.tenant_id == tenant_id]
            if not memberships:
                raise Unauthenticated(BAD_CREDENTIALS)  # a failure: the same answer as a wrong password
        elif len(memberships) > 1:
            await throttle.succeeded()
            raise TenantRequired("User belongs to several tenants: tenant_id is required.")
        if not memberships:
            await throttle.succeeded()
            raise Forbidden("User has no tenant membership.")
        membership = memberships[0]
        await throttle.succeeded()
        if needs_rehash(user.password_hash):  # the hashing cost changed since it was stored
            user.password_hash = await hash_password(password)
        methods = await mfa.active_methods(s, user.id)
        if methods:
            await s.commit()
            token = ctx.services.tokens.issue_mfa_challenge(
                user_id=user.id,
                tenant_id=membership.tenant_id,
                ttl=timedelta(minutes=ctx.settings.mfa_challenge_ttl_minutes),
            )
            return MfaChallenge(token, methods)
        out = await _open_session(ctx, s, user, membership, user_agent, ip, "password")
        await s.commit()
        return out


async def _open_session(
    ctx: Context,
    s: AsyncSession,
    user: User,
    membership: Membership,
    user_agent: str | None,
    ip: str | None,
    method: str,
) -> SignedIn:
    """A new session, recorded in the tenant's activity feed with how the user signed in."""
    session = AuthSession(
        tenant_id=membership.tenant_id, user_id=user.id, refresh_jti="", user_agent=user_agent, ip_address=ip
    )
    s.add(session)
    await s.flush()
    out = await issue_session(ctx, user, membership, session)
    activity.record(
        ctx,
        s,
        "auth.login.success",
        tenant_id=membership.tenant_id,
        actor=activity.Actor(str(user.id), "user", membership.role),
        object_type="user",
        object_id=user.id,
        object_name=user.email,
        metadata={"method": method, "session_id": str(session.id)},
    )
    return out


async def complete_mfa_sign_in(ctx: Context, challenge_token: str, code: str, method_id: uuid.UUID | None) -> SignedIn:
    """The session a challenge was waiting for, once a TOTP code of one of the user's active
    methods (or one recovery code) is given. Wrong codes are throttled like wrong passwords; a
    challenge completes once."""
    try:
        claims = ctx.services.tokens.verify(challenge_token, token_use="mfa_challenge")
        user_id = uuid.UUID(str(claims["sub"]).removeprefix("user:"))
        tenant_id = uuid.UUID(str(claims["tenant_id"]))
    except TokenInvalid as exc:
        raise Unauthenticated(f"MFA challenge refused: {exc.message}") from None
    except (KeyError, ValueError):
        raise Unauthenticated("MFA challenge refused: Could not validate credentials") from None
    user_agent, ip = client_info(ctx)
    gate = mfa.throttle(ctx, user_id)
    await gate.admit()
    async with ctx.platform_session() as s:
        await mfa.check_second_factor(ctx, s, user_id, code, method_id)
        await gate.succeeded()  # the code was right, whatever follows
        user = await s.get(User, user_id)
        membership = await s.scalar(
            select(Membership).where(Membership.user_id == user_id, Membership.tenant_id == tenant_id)
        )
        if user is None or membership is None:
            raise Unauthenticated("Could not validate credentials")
        if user.status != "active":
            raise Forbidden("User account is disabled.")
        expires = int(claims["exp"]) - int(time.time()) + LEEWAY_SECONDS
        if not await ctx.services.limiter.try_lock(f"mfa:challenge:{claims['jti']}", max(1, expires)):
            raise Unauthenticated("MFA challenge has already been completed: sign in again.")
        out = await _open_session(ctx, s, user, membership, user_agent, ip, "mfa")
        await s.commit()
        return out


async def refresh(ctx: Context, refresh_token: str) -> SignedIn:
    claims = _refresh_claims(ctx, refresh_token)
    async with ctx.platform_session() as s:
        # Locked until the rotation commits: of two refreshes presenting the same token at once,
        # the second then sees it used (and ends the family) instead of both getting a new pair.
        await lock_row(s, AuthSession, uuid.UUID(claims["sid"]))
        session = await s.get(AuthSession, uuid.UUID(claims["sid"]))
        if session is None or session.revoked_at is not None:
            raise Unauthenticated("Refresh token has been revoked.")
        if session.refresh_jti != claims["jti"]:
            # A used refresh token came back: someone holds a copy. End the whole family.
            session.revoked_at, session.revoked_reason = datetime.now(UTC), "refresh_reuse"
            await s.commit()
            await ctx.services.revocations.revoked(session.id)
            raise Unauthenticated("Refresh token has already been used; the session was revoked.")
        user = await s.get(User, session.user_id)
        membership = await s.scalar(
            select(Membership).where(Membership.user_id == session.user_id, Membership.tenant_id == session.tenant_id)
        )
        if user is None or membership is None or user.status != "active":
            raise Unauthenticated("Could not validate credentials")
        session.last_seen_at = datetime.now(UTC)
        out = await issue_session(ctx, user, membership, session)
        await s.commit()
        return out


def _refresh_claims(ctx: Context, token: str) -> dict[str, Any]:
    try:
        claims = ctx.services.tokens.verify(token, token_use="refresh")
    except TokenInvalid as exc:
        raise Unauthenticated(str(exc)) from None
    if not str(claims.get("sub", "")).startswith("user:") or "sid" not in claims:
        raise Unauthenticated("Token subject must reference a user account.")
    return claims


async def logout(ctx: Context, refresh_token: str) -> Outcome[bool]:
    principal = require_user(ctx)
    claims = _refresh_claims(ctx, refresh_token)
    if claims["sub"] != principal.subject:
        raise Forbidden("Refresh token belongs to another user.")
    revoked = await revoke_sessions(ctx, [uuid.UUID(claims["sid"])], "logout")
    return Outcome("Session revoked successfully." if revoked else "Session already inactive.", bool(revoked))


async def logout_all(ctx: Context) -> Outcome[int]:
    principal = require_user(ctx)
    user_id = uuid.UUID(principal.subject.removeprefix("user:"))
    async with ctx.platform_session() as s:
        ids = (
            await s.scalars(
                select(AuthSession.id).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            )
        ).all()
    revoked = await revoke_sessions(ctx, list(ids), "logout_all")
    return Outcome("All sessions revoked.", revoked)


async def revoke_sessions(ctx: Context, session_ids: list[uuid.UUID], reason: str) -> int:
    if not session_ids:
        return 0
    async with ctx.platform_session() as s:
        result = await s.execute(
            update(AuthSession)
            .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_reason=reason)
        )
        await s.commit()
    for sid in session_ids:
        await ctx.services.revocations.revoked(sid)
    return rowcount(result) or 0


def require_user(ctx: Context) -> Principal:
    principal = require_principal(ctx)
    if not principal.subject.startswith("user:"):
        raise Unauthenticated("Token subject must reference a user account.")
    return principal


def me_legacy(ctx: Context) -> Outcome[Principal]:
    """The legacy `GET /auth/me` answer: the caller, whose token's raw claims it shows (NOTES §2.1)."""
    return Outcome("User information retrieved successfully", require_user(ctx))


async def me(ctx: Context) -> Profile:
    """The caller as the database knows them now, in the tenant of their token. `scopes` are
    the token's (what this request may do); the rest is read fresh, so `email_verified` turns
    true as soon as the link is followed, while the token itself still says false until it is
    refreshed."""
    principal = require_user(ctx)
    user_id = uuid.UUID(principal.subject.removeprefix("user:"))
    # One statement: the user, and the token's tenant with the user's role there (a tenant
    # without a membership row still answers, role None).
    query = (
        select(User, Tenant, Membership.role)
        .select_from(User)
        .outerjoin(Tenant, Tenant.id == principal.tenant_id)
        .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.tenant_id == Tenant.id))
        .where(User.id == user_id)
    )
    async with ctx.platform_session() as s:
        found = (await s.execute(query)).first()
    if found is None:
        raise Unauthenticated("Could not validate credentials")
    user, tenant, role = found
    return Profile(user, tenant, role, sorted(principal.scopes))


async def viewer(ctx: Context) -> Profile:
    """The caller as `me`, with the tenant of their token and their role there, which a user
    token always has: a membership removed since the token was issued is refused here."""
    profile = await me(ctx)
    if profile.tenant is None or profile.role is None:
        raise Forbidden("User has no membership in the tenant of this token.")
    return profile


def role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1
