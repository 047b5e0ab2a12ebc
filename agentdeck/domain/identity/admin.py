"""Platform administration run from the command line: tenants with owners, and operators.

These run outside any request (no principal), on a session the caller owns.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.auth.passwords import hash_password, password_problems
from agentdeck.db.models import Membership, Tenant, User
from agentdeck.domain.common.limits import EMAIL
from agentdeck.errors import InvalidInput

OPERATORS_SLUG = "operators"  # user tenants always get a random suffix, so this slug is free


def tenant_slug(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48] or "tenant"
    return f"{base}-{uuid.uuid4().hex[:6]}"


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput(
            "value is not a valid email address",
            details=[{"field": "email", "message": "value is not a valid email address"}],
        )
    return email


async def add_tenant(s: AsyncSession, name: str, owner: User, slug: str | None = None) -> tuple[Tenant, Membership]:
    """A new tenant with `owner` as its owner (flushed, not committed)."""
    name = name.strip()
    if not 2 <= len(name) <= 128:
        raise InvalidInput(
            "Tenant name must be 2-128 characters.", details=[{"field": "name", "message": "2-128 characters"}]
        )
    tenant = Tenant(name=name, slug=slug or tenant_slug(name))
    s.add(tenant)
    await s.flush()
    membership = Membership(tenant_id=tenant.id, user_id=owner.id, role="owner")
    s.add(membership)
    await s.flush()
    return tenant, membership


async def ensure_user(s: AsyncSession, email: str, password: str | None, min_length: int) -> tuple[User, bool]:
    """The user with `email`, created with `password` when new; existing users keep theirs."""
    email = normalise_email(email)
    user = await s.scalar(select(User).where(User.email == email))
    if user is not None:
        return user, False
    if not password:
        raise InvalidInput(
            f"{email} is a new user: a password is required (--password, or run the "
            "command in a terminal to be asked for one)."
        )
    problems = password_problems(password, email=email, min_length=min_length)
    if problems:
        raise InvalidInput("Password refused: " + " ".join(problems))
    user = User(email=email, password_hash=await hash_password(password))
    s.add(user)
    await s.flush()
    return user, True


async def make_operator(
    s: AsyncSession, email: str, password: str | None, min_length: int
) -> tuple[User, uuid.UUID, bool]:
    """Create or promote a platform operator. Signing in needs a tenant membership, so an
    operator without one joins the shared "Operators" tenant (created on first use) as owner."""
    user, created = await ensure_user(s, email, password, min_length)
    user.platform_role = "platform_operator"
    member = await s.scalar(select(Membership).where(Membership.user_id == user.id).limit(1))
    if member is not None:
        return user, member.tenant_id, created
    tenant = await s.scalar(select(Tenant).where(Tenant.slug == OPERATORS_SLUG))
    if tenant is None:
        tenant, _ = await add_tenant(s, "Operators", user, slug=OPERATORS_SLUG)
    else:
        s.add(Membership(tenant_id=tenant.id, user_id=user.id, role="owner"))
    return user, tenant.id, created
