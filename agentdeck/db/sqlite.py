"""SQLite on the event loop's own thread, for SQLAlchemy's asyncio engine.

aiosqlite runs each connection's calls on a thread of its own: a statement is a hop there and a
wake-up back (a queue, a futex, the loop's self-pipe), and a read of a 50-row page took five of
them. On SQLite, a statement over an embedded file takes microseconds, less than its hops: under
32 concurrent list requests the hops were a third of the server's CPU (system time 1.4 → 0.15 ms
per request without them). Here each call runs where it is awaited.

What a thread gave for free is kept by hand: SQLite's own busy handler would sleep on the loop's
thread, so it is off (`timeout=0`), and a statement that finds the database locked (`SQLITE_BUSY`,
another connection is writing) waits *asynchronously* and tries again, woken as soon as a
connection of this process ends a transaction, or after a backoff for a writer in another
process, for up to the connection's `lock_timeout`; the loop serves other requests meanwhile. A stale
read snapshot (`SQLITE_BUSY_SNAPSHOT`) cannot succeed by waiting and fails at once, as before.

The price: a long statement holds up the whole process while it runs, where a thread would have
let the others go on. SQLite is the embedded default for one process; PostgreSQL (asyncpg) is the
production database and is unaffected.

The objects follow the parts of aiosqlite's interface that SQLAlchemy's aiosqlite dialect uses
(`create_async_engine(..., async_creator=...)` hands them to it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

BUSY = sqlite3.SQLITE_BUSY  # plain: another connection holds the lock (not BUSY_SNAPSHOT, 517)
FIRST_WAIT, LONGEST_WAIT = 0.001, 0.05  # seconds: the backoff for a lock held by another process

# Futures of the statements waiting for a lock, per database file: a connection of this process
# that commits, rolls back or closes wakes them.
_waiting: dict[str, list[asyncio.Future[None]]] = {}


async def connect(database: str, lock_timeout: float = 5.0) -> Connection:
    """A connection to `database`; `lock_timeout` bounds how long a statement waits for a lock."""
    return Connection(sqlite3.connect(database, timeout=0, check_same_thread=False), database, lock_timeout)


def _wake(database: str) -> None:
    for waiter in _waiting.pop(database, ()):
        if not waiter.done():
            waiter.set_result(None)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Inline:
    """Stands for aiosqlite's queue to its thread, which SQLAlchemy's dialect uses directly to set
    the isolation level: the call runs now and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits it
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class Connection:
    def __init__(self, connection: sqlite3.Connection, database: str, timeout: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._database = database
        self._timeout = timeout
        self._tx = _Inline()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    async def _locked(self, call: Callable[[], T]) -> T:
        """`call()`, again after each wait while the database is locked, until the timeout."""
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != BUSY:
                raise
        deadline, wait = time.monotonic() + self._timeout, FIRST_WAIT
        loop = asyncio.get_running_loop()
        while True:
            waiter = loop.create_future()
            _waiting.setdefault(self._database, []).append(waiter)
            timer = loop.call_later(wait, _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
            try:
                return call()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != BUSY or time.monotonic() >= deadline:
                    raise
            wait = min(wait * 2, LONGEST_WAIT)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def commit(self) -> None:
        await self._locked(self._conn.commit)
        _wake(self._database)

    async def rollback(self) -> None:
        try:
            self._conn.rollback()
        finally:
            _wake(self._database)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            _wake(self._database)


class Cursor:
    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        await self._connection._locked(partial(self._cursor.execute, sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        rows = list(parameters)  # a retry must see every row again
        await self._connection._locked(partial(self._cursor.executemany, sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value
