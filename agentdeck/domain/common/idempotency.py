"""Idempotency keys, with Stripe's semantics, for the operations that create something.

A client that got a 5xx, a timeout or a cut stream cannot tell whether its request created
anything (under load, every one of them had), so it sends the request again with the same key
and the platform makes sure it is done once. The rule lives here, once:

- a key is 1-255 visible ASCII characters (`KEY`, declared on every `idempotencyKey` argument),
  scoped to the caller (the tenant the request acts in and the principal's subject; for an
  anonymous caller, the client address) and to the operation;
- the first request records the key with a fingerprint of its inputs (the sha256 of their
  canonical JSON) and, in the transaction that creates its resource, what it created;
- a retry with the same inputs gets the first request's result, never a second resource: the
  operation rebuilds it from the recorded resource or replays the answer stored with `remember`
  (see `Claim`); a retry that arrives while the first is still creating waits for it;
- the same key with other inputs is refused (`INVALID_INPUT`, naming the key);
- concurrent first requests: the unique constraint picks one, the others wait and are retries;
- a request refused before it created anything (validation, a limit, a fault) forgets its key,
  so a corrected retry runs;
- after `idempotency_ttl_hours` a key is a new key; `purge_expired` deletes expired rows in
  bounded batches (each status-monitor round).

An operation uses it as:

    async with idempotency.claim(ctx, "start_chat", idem) as claim:
        if claim.resource is not None:
            return rebuilt(claim.resource)      # a retry
        ...                                     # create, and in the creating transaction:
        await claim.attach(s, {"run_id": str(run_id)})
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.models import IdempotencyKey
from agentdeck.db.session import Database, rowcount
from agentdeck.domain.common.limits import Limit
from agentdeck.errors import Conflict, DomainError, InvalidInput

T = TypeVar("T")

# Visible ASCII only: a key travels in an HTTP header and is echoed in error messages.
KEY = Limit(min_length=1, max_length=255, pattern=r"^[!-~]+$")
WAIT_S = 10.0  # how long a retry waits for a first request that has not created anything yet
# A first request that has created nothing for this long is gone (its process died): its key is
# free again. Far longer than any operation takes before it creates (a payment call included).
ABANDONED_S = 300.0
PURGE_BATCH = 1000


@dataclass(frozen=True)
class Idempotency:
    """A request's key and the inputs it guards (the operation's arguments, the key aside)."""

    key: str | None = None
    inputs: Any = None
    field: str = "idempotencyKey"  # the argument that carried the key, for error details


NO_KEY = Idempotency()


@dataclass
class Claim:
    """This request's hold on its key.

    `first`: this request creates the resource (also when no key was sent: `id` is None and the
    methods do nothing). Otherwise it is a retry and `resource` is what the first request
    created; `response`, when the first request stored its answer (`remember`), is that answer.
    """

    id: uuid.UUID | None = None
    first: bool = True
    resource: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    attached: bool = False

    async def attach(self, s: AsyncSession, resource: dict[str, Any], answer: Any = None) -> None:
        """Record what this first request created, in `s`, the transaction that creates it (so
        there is never a resource without its key, nor a key naming a resource that is not).
        `answer`: the request's answer, when it is known then (see `remember`)."""
        if self.id is None:
            return
        values: dict[str, Any] = {"resource": resource}
        if answer is not None:
            values["response"] = {"result": _adapter(type(answer)).dump_python(answer, mode="json")}
        await s.execute(update(IdempotencyKey).where(IdempotencyKey.id == self.id).values(**values))
        self.attached = True

    async def remember(self, ctx: Context, answer: Any) -> None:
        """Store the answer of an operation whose answer comes after its resource (a chat turn's
        reply): retries get this answer, whatever happens to the resource later."""
        await self._store(ctx, {"result": _adapter(type(answer)).dump_python(answer, mode="json")})

    async def remember_error(self, ctx: Context, error: DomainError) -> None:
        """Store the error that ended the operation after it created its resource (a turn that
        failed): retries get the same error, not a second attempt."""
        await self._store(ctx, {"error": {"code": error.code, "message": error.message, "details": error.details}})

    def replay(self, kind: type[T]) -> T:
        """The first request's stored answer as a `kind`, or its stored error raised again."""
        assert self.response is not None
        error = self.response.get("error")
        if error is not None:
            raise DomainError(error["message"], code=error["code"], details=error.get("details"))
        return _adapter(kind).validate_python(self.response["result"])

    async def _store(self, ctx: Context, response: dict[str, Any]) -> None:
        if self.id is None:
            return
        async with ctx.platform_session() as s:  # first answer wins: concurrent retries agree anyway
            await s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.id == self.id, IdempotencyKey.response.is_(None))
                .values(response=response)
            )
            await s.commit()


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    """The (costly to build) TypeAdapter of `kind`, built once."""
    adapter = _adapters.get(kind)
    if adapter is None:
        adapter = _adapters[kind] = TypeAdapter(kind)
    return adapter


def fingerprint(inputs: Any) -> str:
    """sha256 of the inputs' canonical JSON (sorted keys, no spaces; dataclasses as objects)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=_plain)  # ASCII: \u escapes
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):  # one instant, one spelling
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)  # UUIDs, decimals, sentinels


@asynccontextmanager
async def claim(ctx: Context, operation: str, idem: Idempotency, *, tenant: bool = True) -> AsyncIterator[Claim]:
    """Hold `idem`'s key for `operation` (see the module's docstring). A first request that
    leaves the block without `attach` (refused, failed, or nothing to create) frees the key.
    `tenant=False`: the operation has no tenant (the key is the principal's, or the address's)."""
    if idem.key is None:
        yield Claim()
        return
    held = await _claim(ctx, operation, idem, tenant)
    try:
        yield held
    except BaseException:
        if held.first:  # the creating transaction may have failed after `attach`: ask the row
            await asyncio.shield(_release(ctx.services.db, held.id))
        raise
    if held.first and not held.attached:
        await _release(ctx.services.db, held.id)


async def _claim(ctx: Context, operation: str, idem: Idempotency, tenant: bool) -> Claim:
    assert idem.key is not None
    scope, tenant_id = await _scope(ctx, tenant)
    digest = fingerprint(idem.inputs)
    db, ttl = ctx.services.db, timedelta(hours=ctx.settings.idempotency_ttl_hours)
    for pause in _pauses():
        row_id = await _insert(
            db, IdempotencyKey(scope=scope, tenant_id=tenant_id, operation=operation, key=idem.key, fingerprint=digest)
        )
        if row_id is not None:
            return Claim(row_id)
        async with db.platform_session() as s:
            row = await s.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.scope == scope, IdempotencyKey.operation == operation, IdempotencyKey.key == idem.key
                )
            )
        if row is None:
            continue  # the first request was refused and freed the key meanwhile: claim it
        age = datetime.now(UTC) - row.created_at
        if age > ttl or (row.resource is None and age > timedelta(seconds=ABANDONED_S)):
            await _release(db, row.id, expired=age > ttl)  # an expired (or abandoned) key is a new key
            continue
        if row.fingerprint != digest:
            raise reused(idem)
        if row.resource is not None:
            return Claim(row.id, first=False, resource=row.resource, response=row.response)
        await asyncio.sleep(pause)  # the first request is still creating: wait for it
    raise Conflict(f"A request with idempotency key '{idem.key}' is still being processed; retry it later.")


def reused(idem: Idempotency) -> InvalidInput:
    message = (
        f"Idempotency key '{idem.key}' was already used with different inputs; use a new key for a different request."
    )
    return InvalidInput(message, details=[{"field": idem.field, "type": "idempotency_key_reused", "message": message}])


def _pauses() -> Iterator[float]:
    """Growing pauses, until WAIT_S has passed (bounded in time, so in count too)."""
    deadline, pause = time.monotonic() + WAIT_S, 0.02
    while time.monotonic() < deadline:
        yield pause
        pause = min(pause * 2, 0.25)


async def _scope(ctx: Context, tenant: bool) -> tuple[str, uuid.UUID | None]:
    if tenant:
        tc = await ctx.tenant_context()
        return f"{tc.tenant_id}:{ctx.require_principal().subject}", tc.tenant_id
    if ctx.principal is not None:
        return f"-:{ctx.principal.subject}", None
    client = ctx.request.client if ctx.request is not None else None
    return f"-:address:{client.host if client else 'unknown'}", None


async def _insert(db: Database, row: IdempotencyKey) -> uuid.UUID | None:
    """The new row's id, or None when the key is taken (the unique constraint decides)."""
    async with db.platform_session() as s:
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:
            return None
    return row.id


async def _release(db: Database, row_id: uuid.UUID | None, *, expired: bool = False) -> None:
    """Delete the key row if it names no resource (or, `expired`, whatever it names)."""
    if row_id is None:
        return
    condition = [IdempotencyKey.id == row_id]
    if not expired:
        condition.append(IdempotencyKey.resource.is_(None))
    async with db.platform_session() as s:
        await s.execute(delete(IdempotencyKey).where(*condition))
        await s.commit()


async def purge_expired(db: Database, ttl_hours: float) -> int:
    """Delete up to PURGE_BATCH expired keys (bounded work per call); how many were deleted."""
    cutoff = datetime.now(UTC) - timedelta(hours=ttl_hours)
    batch = select(IdempotencyKey.id).where(IdempotencyKey.created_at < cutoff).limit(PURGE_BATCH)
    async with db.platform_session() as s:
        result = await s.execute(
            delete(IdempotencyKey).where(IdempotencyKey.id.in_(batch)).execution_options(synchronize_session=False)
        )
        await s.commit()
    return rowcount(result) or 0
