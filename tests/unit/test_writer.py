"""storage/writer.py: group commit on the event loop, per-job atomicity, waiting for another
connection's write lock without blocking the loop, and the synchronous door."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from storage import db, writer


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "w.sqlite3"
    db.bind(f"sqlite:///{file}")
    conn = sqlite3.connect(file)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))")
    conn.execute("INSERT INTO t VALUES ('a', 0)")
    conn.commit()
    conn.close()
    return str(file)


def bump(conn, by=1):
    return conn.execute("UPDATE t SET n = n + ? WHERE k = 'a' RETURNING n", (by,)).fetchone()[0]


def value(path) -> int:
    return sqlite3.connect(path).execute("SELECT n FROM t WHERE k = 'a'").fetchone()[0]


def test_jobs_queued_together_commit_in_one_transaction(path):
    async def main():
        results = await asyncio.gather(*(writer.run(bump) for _ in range(50)))
        return results, writer._loop_writers[asyncio.get_running_loop()].commits

    results, commits = asyncio.run(main())
    assert sorted(results) == list(range(1, 51))  # each job saw the one before it: serialized
    assert commits == 1
    assert value(path) == 50


def test_a_failing_job_is_rolled_back_alone(path):
    def boom(conn):
        bump(conn, 100)
        raise KeyError("boom")

    def give_back(conn):
        bump(conn, 1000)
        raise writer.Rollback("denied")

    async def main():
        return await asyncio.gather(writer.run(bump), writer.run(boom), writer.run(give_back),
                                    writer.run(bump, -5), writer.run(bump), return_exceptions=True)

    first, failed, rolled, violates, last = asyncio.run(main())
    assert isinstance(failed, KeyError) and rolled == "denied"
    assert isinstance(violates, sqlite3.IntegrityError)  # CHECK (n >= 0): 1 - 5
    assert (first, last) == (1, 2)
    assert value(path) == 2


def test_waits_for_another_connections_lock_without_blocking_the_loop(path):
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, holder.execute, ("COMMIT",)).start()

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        result = await writer.run(bump)
        task.cancel()
        return result, time.monotonic() - started, ticks

    result, waited, ticks = asyncio.run(main())
    assert result == 1
    assert waited >= 0.25  # it did wait for the other connection ...
    assert ticks >= 10  # ... while the loop kept running other work


def test_busy_past_the_timeout(path, monkeypatch):
    monkeypatch.setattr(writer, "BUSY_TIMEOUT_S", 0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(writer.Busy):
            asyncio.run(writer.run(bump))
    finally:
        holder.execute("ROLLBACK")
    assert asyncio.run(writer.run(bump)) == 1  # and the writer works again afterwards


def test_synchronous_call_and_read(path):
    assert writer.call(bump) == 1
    with pytest.raises(writer.Busy):
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("PRAGMA busy_timeout=0")
        holder.execute("BEGIN IMMEDIATE")
        conn = writer._thread_conn(path)
        conn.execute("PRAGMA busy_timeout=50")
        try:
            writer.call(bump)
        finally:
            holder.execute("ROLLBACK")
            conn.execute("PRAGMA busy_timeout=5000")

    def give_back(conn):
        bump(conn)
        raise writer.Rollback("no")

    assert writer.call(give_back) == "no"
    assert writer.read(lambda c: c.execute("SELECT n FROM t").fetchone()[0]) == 1


def test_a_job_cancelled_before_it_runs_is_skipped(path):
    async def main():
        cancelled = asyncio.ensure_future(writer.run(bump, 100))
        await asyncio.sleep(0)  # queued, the flush is scheduled but has not run
        cancelled.cancel()
        return await writer.run(bump)

    assert asyncio.run(main()) == 1
    assert value(path) == 1
