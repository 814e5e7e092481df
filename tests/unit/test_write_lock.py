"""storage.db.write() against another process's SQLite write lock: it waits in short naps
(not SQLite's coarse busy-handler sleeps), then commits; or gives up after BUSY_SECONDS."""

from __future__ import annotations

import sqlite3
import threading

import peewee
import pytest

from storage import db


@pytest.fixture
def database(tmp_path, monkeypatch):
    path = tmp_path / "lock.sqlite3"
    db.bind(f"sqlite:///{path}")
    with db.database.connection_context():
        db.database.execute_sql("PRAGMA journal_mode=WAL")
        db.database.execute_sql("CREATE TABLE t (v INTEGER)")
        yield path


def _hold_lock(path, release: threading.Event, holding: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)  # another connection: as another process would
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    holding.set()
    release.wait(10)
    other.execute("COMMIT")
    other.close()


def test_write_waits_for_the_lock_then_commits(database):
    release, holding = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(database, release, holding))
    holder.start()
    holding.wait(5)
    threading.Timer(0.2, release.set).start()
    with db.write():
        db.database.execute_sql("INSERT INTO t VALUES (2)")
    holder.join(5)
    assert [r[0] for r in db.database.execute_sql("SELECT v FROM t ORDER BY v")] == [1, 2]
    # The connection's busy timeout is back for everything else.
    assert db.database.execute_sql("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_write_gives_up_after_the_busy_deadline_and_rolls_back(database, monkeypatch):
    monkeypatch.setattr(db, "BUSY_SECONDS", 0.3)
    release, holding = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(database, release, holding))
    holder.start()
    holding.wait(5)
    try:
        with pytest.raises(peewee.OperationalError, match="locked"), db.write():
            db.database.execute_sql("INSERT INTO t VALUES (3)")
    finally:
        release.set()
        holder.join(5)
    assert db.database.transaction_depth() == 0
    with db.write():  # and the next write works normally
        db.database.execute_sql("INSERT INTO t VALUES (4)")
    assert [r[0] for r in db.database.execute_sql("SELECT v FROM t ORDER BY v")] == [1, 4]


def test_an_error_inside_rolls_back(database):
    with pytest.raises(RuntimeError), db.write():
        db.database.execute_sql("INSERT INTO t VALUES (5)")
        raise RuntimeError("boom")
    assert db.database.execute_sql("SELECT count(*) FROM t").fetchone()[0] == 0


def test_rebinding_leaves_another_threads_connection_alone(tmp_path):
    """db.bind() to another file closes this thread's and the idle connections only: a
    background thread's connection in use stays open (closing it under that thread can crash
    SQLite)."""
    db.bind(f"sqlite:///{tmp_path / 'first.sqlite3'}")
    connected, rebound, done = threading.Event(), threading.Event(), threading.Event()
    seen: list = []

    def background() -> None:
        db.database.connect(reuse_if_open=True)
        raw = db.database.connection()
        connected.set()
        rebound.wait(5)
        seen.append(raw.execute("SELECT 41 + 1").fetchone()[0])  # still usable after the rebind
        done.set()

    thread = threading.Thread(target=background)
    thread.start()
    connected.wait(5)
    db.bind(f"sqlite:///{tmp_path / 'second.sqlite3'}")
    rebound.set()
    done.wait(5)
    thread.join(5)
    assert seen == [42]
