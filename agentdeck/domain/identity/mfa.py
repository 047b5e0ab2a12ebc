"""Multi-factor authentication: TOTP authenticators (RFC 6238, with pyotp) and recovery codes.

- **Enrolment** makes a pending TOTP method and answers its secret once (and the `otpauth://`
  URI an authenticator app scans); the secret is stored sealed (AES-256-GCM, auth/mfa_keys.py).
  A code from the app verifies it, which turns MFA on: from then on a password sign-in answers a
  challenge instead of tokens (`auth.login`), completed with a code (`auth.complete_mfa_sign_in`).
- **Codes**: six digits of the current 30-second step, or one step either side (clock drift). A
  code is accepted once: each method keeps the step of its last accepted code and takes only
  later ones, with a conditional UPDATE, so two requests racing with one code cannot both win.
- **Recovery codes**: ten one-time codes of eight characters, stored as salted, peppered HMACs
  and shown once; regenerating replaces them all. Any one completes a sign-in in place of a TOTP
  code, once.
- **Throttling**: wrong codes are failures of the sign-in throttle (`login_throttle.py`) for the
  user's MFA (its own streak, the client address's limit shared with passwords), so a guesser
  is slowed as a password guesser is; across clients a user's codes may fail 10 times an hour.
- Methods and codes belong to a user, not a tenant: every read names the caller's user id, and
  another user's method id is not found.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.auth.mfa_keys import SealedSecretUnreadable, mfa_keys
from agentdeck.context import Context
from agentdeck.db.models.identity import User
from agentdeck.db.models.mfa import MfaMethod, MfaRecoveryCode
from agentdeck.db.session import lock_row, rowcount
from agentdeck.domain.common.access import client_info, require_principal
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.common.results import Page
from agentdeck.domain.identity.login_throttle import LoginThrottle
from agentdeck.errors import BadRequest, Conflict, NotFound, Unauthenticated

TOTP = "totp"
ISSUER = "agentdeck"
DIGITS = 6
DRIFT_STEPS = 1  # a code of the step before or after the current one is accepted too
RECOVERY_CODES = 10
RECOVERY_LENGTH = 8
# No 0/o, 1/l/i: read off a screen or paper and typed back.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
MAX_LIVE_METHODS = 5  # pending and active together, per user
# Wrong codes per user per hour, from all clients together (the legacy MFA quota, 10 an hour).
ACCOUNT_FAILURES = (10, 3600)
LIST_MAX = 100

# Declared on the inputs (the schema enforces them; openapi.json publishes them).
CODE = Limit(min_length=6, max_length=8)
LABEL = Limit(min_length=1, max_length=64)
CHALLENGE_TOKEN = Limit(min_length=10, max_length=4096)

INVALID_CODE = "Invalid MFA code."


@dataclass(frozen=True)
class Enrollment:
    """A pending TOTP method and its secret, shown this once."""

    method: MfaMethod
    secret: str
    otpauth_uri: str


def caller_id(ctx: Context) -> uuid.UUID:
    principal = require_principal(ctx)
    if not principal.subject.startswith("user:"):
        raise Unauthenticated("Token subject must reference a user account.")
    return uuid.UUID(principal.subject.removeprefix("user:"))


def throttle(ctx: Context, user_id: uuid.UUID) -> LoginThrottle:
    """The sign-in throttle for this user's second factor, from this client: the password's
    backoff per client and limit per address, and a lower ceiling per user across clients
    (`ACCOUNT_FAILURES`), since three codes in a million are valid at any time."""
    return LoginThrottle(ctx, f"mfa:{user_id}", client_info(ctx)[1], account_limit=ACCOUNT_FAILURES)


def is_active(method: MfaMethod) -> bool:
    return method.verified_at is not None and method.revoked_at is None


def _bound(method_id: uuid.UUID) -> bytes:
    return method_id.bytes  # the sealed secret opens only on its own row


def _not_found() -> NotFound:
    return NotFound(
        "MFA method not found.", details=[{"field": "input.method_id", "message": "no MFA method of yours has this id"}]
    )


# -- reading -----------------------------------------------------------------------------------


async def list_methods(ctx: Context, offset: int, limit: int, include_revoked: bool = True) -> Page[MfaMethod]:
    """The caller's methods, oldest first."""
    user_id = caller_id(ctx)
    where = [MfaMethod.user_id == user_id]
    if not include_revoked:
        where.append(MfaMethod.revoked_at.is_(None))
    async with ctx.platform_session() as s:
        total = await s.scalar(select(func.count()).select_from(MfaMethod).where(*where)) or 0
        rows = (
            await s.scalars(
                select(MfaMethod).where(*where).order_by(MfaMethod.created_at, MfaMethod.id).offset(offset).limit(limit)
            )
        ).all()
    return Page(list(rows), total)


async def methods_by_ids(ctx: Context, ids: list[uuid.UUID | None]) -> list[MfaMethod | None]:
    """The caller's methods of these ids, in order; None for any other id."""
    user_id = caller_id(ctx)
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return [None] * len(ids)
    async with ctx.platform_session() as s:
        rows = (await s.scalars(select(MfaMethod).where(MfaMethod.id.in_(wanted), MfaMethod.user_id == user_id))).all()
    found = {row.id: row for row in rows}
    return [found.get(i) if i is not None else None for i in ids]


async def active_methods(s: AsyncSession, user_id: uuid.UUID) -> list[MfaMethod]:
    rows = (
        await s.scalars(
            select(MfaMethod)
            .where(MfaMethod.user_id == user_id, MfaMethod.verified_at.is_not(None), MfaMethod.revoked_at.is_(None))
            .order_by(MfaMethod.created_at, MfaMethod.id)
        )
    ).all()
    return list(rows)


async def recovery_codes_left(ctx: Context) -> int:
    user_id = caller_id(ctx)
    async with ctx.platform_session() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(MfaRecoveryCode)
            .where(MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None))
        )
    return count or 0


# -- enrolment and management ------------------------------------------------------------------


async def enroll_totp(ctx: Context, label: str | None) -> Enrollment:
    user_id = caller_id(ctx)
    label = label.strip() if label is not None else None
    problems = LABEL.problems(label, "input.label")
    if problems:
        raise BadRequest(problems[0]["message"], details=problems)
    async with ctx.platform_session() as s:
        if not await lock_row(s, User, user_id):  # serialises enrolments: the cap below holds
            raise Unauthenticated("Could not validate credentials")
        user = await s.get(User, user_id)
        assert user is not None
        live = await s.scalar(
            select(func.count())
            .select_from(MfaMethod)
            .where(MfaMethod.user_id == user_id, MfaMethod.revoked_at.is_(None))
        )
        if (live or 0) >= MAX_LIVE_METHODS:
            raise Conflict(
                f"You have {MAX_LIVE_METHODS} MFA methods (pending or active): delete one before enrolling another."
            )
        secret = pyotp.random_base32()
        method = MfaMethod(id=uuid.uuid4(), user_id=user_id, method_type=TOTP, label=label)
        method.secret_sealed = mfa_keys(ctx.settings).seal(secret, _bound(method.id))
        s.add(method)
        await s.commit()
        uri = otpauth_uri(secret, user.email)
    return Enrollment(method, secret, uri)


def otpauth_uri(secret: str, account: str) -> str:
    """The key URI authenticator apps scan (Google Authenticator's format)."""
    query = urlencode({"secret": secret, "issuer": ISSUER, "algorithm": "SHA1", "digits": DIGITS, "period": 30})
    return f"otpauth://totp/{quote(ISSUER)}:{quote(account)}?{query}"


async def verify_totp(ctx: Context, method_id: uuid.UUID, code: str) -> MfaMethod:
    """A code from the authenticator turns a pending method on (an active one: just checked)."""
    user_id = caller_id(ctx)
    gate = throttle(ctx, user_id)
    await gate.admit()
    async with ctx.platform_session() as s:
        method = await s.scalar(select(MfaMethod).where(MfaMethod.id == method_id, MfaMethod.user_id == user_id))
        if method is None or method.revoked_at is not None:
            raise _not_found()
        if not await _accept_totp(ctx, s, method, code):
            await s.rollback()
            raise BadRequest(
                INVALID_CODE, details=[{"field": "input.code", "message": "not a current code of this method"}]
            )
        if method.verified_at is None:
            method.verified_at = datetime.now(UTC)
        await s.commit()
        await s.refresh(method)
    await gate.succeeded()
    return method


async def delete_method(ctx: Context, method_id: uuid.UUID) -> MfaMethod:
    """Revoke one of the caller's methods (kept, with `revoked_at`); revoking twice is no error."""
    user_id = caller_id(ctx)
    async with ctx.platform_session() as s:
        method = await s.scalar(select(MfaMethod).where(MfaMethod.id == method_id, MfaMethod.user_id == user_id))
        if method is None:
            raise _not_found()
        if method.revoked_at is None:
            method.revoked_at = datetime.now(UTC)
        await s.commit()
        await s.refresh(method)
    return method


async def regenerate_recovery_codes(ctx: Context) -> list[str]:
    """New recovery codes, shown this once; every earlier code stops working."""
    user_id = caller_id(ctx)
    keys = mfa_keys(ctx.settings)
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)) for _ in range(RECOVERY_CODES)]
    async with ctx.platform_session() as s:
        await s.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id))
        for code in codes:
            salt = secrets.token_hex(16)
            s.add(MfaRecoveryCode(user_id=user_id, salt=salt, code_hash=keys.code_hash(salt, code)))
        await s.commit()
    return codes


# -- checking a second factor ------------------------------------------------------------------


def _matching_step(secret: str, code: str, after_step: int | None, now: datetime) -> int | None:
    """The time step whose code `code` is, within the drift allowed and after `after_step`."""
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue  # used already (or older than a code used already): no replay
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def _accept_totp(ctx: Context, s: AsyncSession, method: MfaMethod, code: str) -> bool:
    """Check `code` against `method` and spend it, in `s`'s transaction (the caller commits)."""
    try:
        secret = mfa_keys(ctx.settings).open(method.secret_sealed, _bound(method.id))
    except SealedSecretUnreadable:
        return False  # sealed under another key: no code can match
    now = datetime.now(UTC)
    step = _matching_step(secret, code.strip(), method.last_used_step, now)
    if step is None:
        return False
    spent = await s.execute(
        update(MfaMethod)
        .where(
            MfaMethod.id == method.id,
            (MfaMethod.last_used_step.is_(None)) | (MfaMethod.last_used_step < step),
        )
        .values(last_used_step=step, last_used_at=now)
    )
    return rowcount(spent) == 1  # 0: a concurrent request spent this code (or a later one) first


async def _accept_recovery_code(ctx: Context, s: AsyncSession, user_id: uuid.UUID, code: str) -> bool:
    keys = mfa_keys(ctx.settings)
    typed = code.strip().lower()
    unused = (
        await s.scalars(
            select(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user_id, MfaRecoveryCode.used_at.is_(None))
        )
    ).all()
    for row in unused:
        if hmac.compare_digest(keys.code_hash(row.salt, typed), row.code_hash):
            spent = await s.execute(
                update(MfaRecoveryCode)
                .where(MfaRecoveryCode.id == row.id, MfaRecoveryCode.used_at.is_(None))
                .values(used_at=datetime.now(UTC))
            )
            return rowcount(spent) == 1
    return False


async def check_second_factor(
    ctx: Context, s: AsyncSession, user_id: uuid.UUID, code: str, method_id: uuid.UUID | None
) -> None:
    """Spend a TOTP code of one of the user's active methods (`method_id`, or any when None) or
    one recovery code, in `s`'s transaction; `Unauthenticated` otherwise. A six-digit code is a
    TOTP code, anything else a recovery code; `method_id` must name an active method either way
    (the legacy request names the method the challenge is completed with)."""
    methods = await active_methods(s, user_id)
    if method_id is not None:
        methods = [m for m in methods if m.id == method_id]
    if not methods:
        raise Unauthenticated(INVALID_CODE)
    typed = code.strip()
    if len(typed) == DIGITS and typed.isdigit():
        for method in methods:
            if await _accept_totp(ctx, s, method, typed):
                return
    elif await _accept_recovery_code(ctx, s, user_id, typed):
        return
    raise Unauthenticated(INVALID_CODE)
