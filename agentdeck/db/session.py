"""Engine, sessions and tenant scoping.

`Database.session(tenant_id)` opens a session whose ORM queries on `TenantOwned` models are
filtered to that tenant (a global loader criterion), and whose flushes refuse to write a row of
another tenant. Resolvers never add the filter themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Result, Table, event, make_url, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from agentdeck.db import sqlite as sqlite_inline
from agentdeck.db.base import Base, TenantOwned
from agentdeck.errors import as_unavailable

TENANT_KEY = "tenant_id"
_CONNECTION_KEY = "agentdeck.execute_core.connection"  # (transaction, its AsyncConnection)


class CrossTenantWrite(RuntimeError):
    pass


@event.listens_for(Session, "do_orm_execute")
def _scope_reads(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get(TENANT_KEY)
    if tenant_id is None or state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
            track_closure_variables=False,
        )
    )


@event.listens_for(Session, "before_flush")
def _scope_writes(session: Session, _ctx, _instances) -> None:
    tenant_id = session.info.get(TENANT_KEY)
    if tenant_id is None:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, TenantOwned):
            if obj.tenant_id is None and obj in session.new:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id:
                raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")


@dataclass(frozen=True)
class PoolLimits:
    """Connections one process keeps (`size`), may open beyond that under load (`overflow`),
    and how long a request waits for one when all are busy before it is told 503 (`timeout`)."""

    size: int = 10
    overflow: int = 20
    timeout: float = 10.0


def make_engine(url: str, pool: PoolLimits = PoolLimits()) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Statements run on the loop's thread (`db/sqlite.py`), and every connection is kept: one
        # beyond the pool's size would be opened (a file handle, three PRAGMAs) and closed again
        # per request under load.
        database = make_url(url).database or ""
        engine = create_async_engine(
            url,
            async_creator=partial(sqlite_inline.connect, database, lock_timeout=30),
            pool_size=pool.size + pool.overflow,
            max_overflow=0,
            pool_timeout=pool.timeout,
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_async_engine(
        url, pool_size=pool.size, max_overflow=pool.overflow, pool_timeout=pool.timeout, pool_pre_ping=True
    )


def rowcount(result: Result[Any]) -> int:
    """The number of rows an INSERT, UPDATE or DELETE executed by a session matched."""
    # cast: AsyncSession.execute is typed as returning Result whatever the statement; for an
    # INSERT or UPDATE it is a CursorResult, which is what carries the row count.
    return cast("CursorResult[Any]", result).rowcount


async def insert_if_absent(s: AsyncSession, model: type[Base], **values: object) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING in the session's transaction (tenant-owned rows get the
    session's tenant); True when this call inserted the row. Where a concurrent insert of the
    same key has not committed yet, PostgreSQL waits for it, so a False means the row exists."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    tenant_id = s.info.get(TENANT_KEY)
    if tenant_id is not None and issubclass(model, TenantOwned):
        values = {**values, "tenant_id": tenant_id}
    result = await s.execute(insert(model).values(**values).on_conflict_do_nothing())
    return rowcount(result) == 1


def session_tenant(s: AsyncSession) -> uuid.UUID:
    """The tenant a tenant session (`Database.session`) is scoped to: what a Core statement run
    with `execute_core` names itself."""
    tenant_id = s.info.get(TENANT_KEY)
    if tenant_id is None:
        raise CrossTenantWrite("a statement of a tenant's rows needs a tenant session")
    return cast(uuid.UUID, tenant_id)


async def execute_core(s: AsyncSession, statement: Executable, params: dict[str, Any]) -> CursorResult[Any]:
    """A Core statement in the session's transaction, past the ORM's execute path: no autoflush,
    no tenant criterion added (the statement filters by `session_tenant(s)` itself) and no
    per-statement cache key (`statement` is built once, with bind parameters, so its compiled
    form is found by identity). For the statements of a chat turn, each of which the ORM path
    cost several times over its round trip.

    The session's connection is asked for once per transaction and kept in `s.info` with the
    transaction it belongs to: `AsyncSession.connection()` is a greenlet hop through the ORM's
    transaction bookkeeping, about a tenth of a turn's CPU over its ten statements. A commit or
    rollback ends that transaction (a new one is another object), and a transaction that can no
    longer run statements asks the session again (which raises as it always did)."""
    tx = s.sync_session.get_transaction()
    held = s.info.get(_CONNECTION_KEY)
    if tx is not None and held is not None and held[0] is tx and tx.is_active:
        conn: AsyncConnection = held[1]
    else:
        conn = await s.connection()
        s.info[_CONNECTION_KEY] = (s.sync_session.get_transaction(), conn)
    return await conn.execute(statement, params)


async def lock_row(s: AsyncSession, model: type[Base], row_id: object) -> bool:
    """Hold the write lock of one row until the transaction ends (False: no such row).

    Serialises check-then-insert sequences that share a parent (a quota counted over a tenant's
    rows): the second transaction waits here and then counts the first one's insert. A no-op
    UPDATE rather than SELECT ... FOR UPDATE, because SQLite has no row locks but takes its
    database write lock on the UPDATE, which serves the same purpose; columns with an `onupdate`
    are set to themselves so nothing changes."""
    # cast: DeclarativeBase types `__table__` as any FromClause (a class may map a join); ours
    # are all declared tables.
    table = cast(Table, model.__table__)
    pk = table.primary_key.columns.values()[0]
    same = {c.name: c for c in table.columns if c.onupdate is not None or c is pk}
    result = await s.execute(
        update(table).where(pk == row_id).values(same).execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


class Database:
    def __init__(self, url: str, pool: PoolLimits = PoolLimits()) -> None:
        self.url = url
        self.engine = make_engine(url, pool)
        self._factory = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self, tenant_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A session of its own (sibling resolvers run concurrently and must not share one)
        that sees and writes only `tenant_id`'s rows."""
        if not isinstance(tenant_id, uuid.UUID):
            raise TypeError(f"a tenant session needs a tenant id, not {tenant_id!r}")
        async with self._opened() as s:
            s.info[TENANT_KEY] = tenant_id
            yield s

    def platform_session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """An unscoped session, for platform tables and the platform's own work across tenants
        (sign-in, plans, the status page, sweepers). Never for a tenant's request."""
        return self._opened()

    @asynccontextmanager
    async def _opened(self) -> AsyncIterator[AsyncSession]:
        async with self._factory() as s:
            try:
                yield s
            except PoolTimeout as exc:
                # Every connection stayed busy for the pool's whole wait: the server is
                # overloaded, which the client is told (503, retry) rather than a masked fault.
                raise as_unavailable(exc) or exc from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
