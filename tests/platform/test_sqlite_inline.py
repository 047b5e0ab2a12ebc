"""SQLite on the loop's thread (agentdeck/db/sqlite.py): a statement that finds the database
locked waits without holding up the loop, and gets through once the lock is released."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from agentdeck.db import sqlite as inline


async def _open(path: str, lock_timeout: float = 5.0) -> inline.Connection:
    connection = await inline.connect(path, lock_timeout=lock_timeout)
    cursor = connection.cursor()
    await cursor.execute("PRAGMA journal_mode=WAL")
    return connection


async def test_a_locked_write_waits_for_the_writer_while_the_loop_runs(tmp_path) -> None:
    path = str(tmp_path / "db.sqlite")
    a, b = await _open(path), await _open(path)
    await a.cursor().execute("CREATE TABLE t (x INTEGER)")
    await a.commit()
    await a.cursor().execute("INSERT INTO t VALUES (1)")  # a holds the write lock

    ticks = 0

    async def ticker() -> None:  # proves the loop keeps running while b waits
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticking = asyncio.create_task(ticker())
    waiting = asyncio.create_task(b.cursor().execute("INSERT INTO t VALUES (2)"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    started = time.monotonic()
    await a.commit()  # wakes b at once, not after a backoff
    await waiting
    woke_after = time.monotonic() - started
    await b.commit()
    ticking.cancel()
    assert ticks > 10
    assert woke_after < 0.05
    rows = await (await a.cursor().execute("SELECT x FROM t ORDER BY x")).fetchall()
    assert rows == [(1,), (2,)]
    await a.close()
    await b.close()


async def test_a_lock_held_past_the_timeout_is_the_locked_error(tmp_path) -> None:
    path = str(tmp_path / "db.sqlite")
    holder = sqlite3.connect(path)  # another process's writer, as far as the module can tell
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.commit()
    holder.execute("INSERT INTO t VALUES (1)")
    waiter = await _open(path, lock_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await waiter.cursor().execute("INSERT INTO t VALUES (2)")
    assert 0.3 <= time.monotonic() - started < 2
    holder.rollback()
    await waiter.cursor().execute("INSERT INTO t VALUES (2)")  # free again: it goes through
    await waiter.commit()
    holder.close()
    await waiter.close()


async def test_a_stale_snapshot_fails_at_once(tmp_path) -> None:
    path = str(tmp_path / "db.sqlite")
    a, b = await _open(path), await _open(path)
    await a.cursor().execute("CREATE TABLE t (x INTEGER)")
    await a.commit()
    await b.cursor().execute("BEGIN")
    await (await b.cursor().execute("SELECT * FROM t")).fetchall()  # b reads a snapshot
    await a.cursor().execute("INSERT INTO t VALUES (1)")
    await a.commit()  # the snapshot is now stale: waiting cannot help b
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError):
        await b.cursor().execute("INSERT INTO t VALUES (2)")
    assert time.monotonic() - started < 0.5
    await b.rollback()
    await a.close()
    await b.close()
