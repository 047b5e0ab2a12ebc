"""Registration: a new user with a tenant of their own, signed in at once and sent the
verification mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from agentdeck.auth.passwords import hash_password, password_problems
from agentdeck.context import Context
from agentdeck.db.models import Tenant
from agentdeck.db.models.identity import AuthSession, User
from agentdeck.domain import activity
from agentdeck.domain.common.access import client_info
from agentdeck.domain.common.limits import EMAIL
from agentdeck.domain.identity import invites
from agentdeck.domain.identity.account import mail_verification
from agentdeck.domain.identity.admin import add_tenant
from agentdeck.domain.identity.auth import SignedIn, issue_session
from agentdeck.errors import Conflict, InvalidInput, UpstreamFailed

log = logging.getLogger("agentdeck.auth")


class EmailTaken(Conflict):
    """The address has an account already."""


@dataclass(frozen=True)
class Registration:
    """A new user signed in, and the tenant they own."""

    signed_in: SignedIn
    tenant: Tenant


async def register(
    ctx: Context, email: str, password: str, tenant_name: str, display_name: str | None, invite_token: str | None
) -> Registration:
    """Accepting the terms is checked by the schema (`ACCEPT_TERMS` on the input)."""
    email = email.strip().lower()
    problems = []
    if not EMAIL.match(email):
        problems.append({"field": "input.email", "message": "value is not a valid email address"})
    problems += [
        {"field": "input.password", "message": p}
        for p in password_problems(password, email=email, min_length=ctx.settings.password_min_length)
    ]
    if not 2 <= len(tenant_name.strip()) <= 128:
        problems.append({"field": "input.tenant_name", "message": "Tenant name must be 2-128 characters."})
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)
    invite_id = await invites.admissible(ctx, invite_token, email)  # None under the public policy

    password_hash = await hash_password(password)
    user_agent, ip = client_info(ctx)
    async with ctx.platform_session() as s:
        if invite_id is not None:
            await invites.redeem(s, invite_id)  # first write: rolled back if registration fails
        user = User(email=email, password_hash=password_hash, display_name=display_name)
        s.add(user)
        try:
            await s.flush()
        except IntegrityError:
            raise EmailTaken("Email already registered.") from None
        tenant, membership = await add_tenant(s, tenant_name, user)
        session = AuthSession(
            tenant_id=tenant.id, user_id=user.id, refresh_jti="", user_agent=user_agent, ip_address=ip
        )
        s.add(session)
        await s.flush()
        signed_in = await issue_session(ctx, user, membership, session)
        activity.record(
            ctx,
            s,
            "auth.signup.success",
            tenant_id=tenant.id,
            actor=activity.Actor(str(user.id), "user", membership.role),
            object_type="user",
            object_id=user.id,
            object_name=user.email,
            metadata={"role": membership.role, "via_invite": invite_id is not None},
        )
        await s.commit()
    await _welcome(ctx, user)
    return Registration(signed_in, tenant)


async def _welcome(ctx: Context, user: User) -> None:
    """The verification mail; a mail failure must not undo a registration (the user can ask
    for another with `sendEmailVerification`)."""
    try:
        await mail_verification(ctx, user)
    except UpstreamFailed as exc:
        log.warning("verification mail for new user %s not sent: %s", user.id, exc.message)
