"""The database binding: one Peewee database for the whole process, chosen by DATABASE_URL.

SQLite (the embedded default) runs in WAL mode with a busy timeout. Writers are gated:
at most `write_concurrency` threads of a process hold a write transaction at once, and
callers build their statements *before* entering `write()` so the lock is held only for
the statements themselves (DESIGN.md measured 20 racing threads at p99 ~1 s).
"""

from __future__ import annotations

import threading
import time
import typing as t
from contextlib import contextmanager
from pathlib import Path

import anyio.to_thread
import peewee
from playhouse.db_url import connect
from playhouse.migrate import SchemaMigrator, migrate
from playhouse.pool import PooledSqliteDatabase

database = peewee.DatabaseProxy()
T = t.TypeVar("T")

# Applied on every new SQLite connection. journal_mode is set once, in init_schema,
# before any worker exists: two processes switching a fresh file to WAL at once fail.
SQLITE_PRAGMAS = (
    ("busy_timeout", 5000),  # = BUSY_SECONDS
    ("synchronous", "NORMAL"),
    ("foreign_keys", 1),
    ("cache_size", -16000),
)

_write_gate = threading.BoundedSemaphore(1)


def bind(url: str, *, write_concurrency: int = 1) -> peewee.Database:
    """Bind the process-wide database proxy to `url` (idempotent for the same URL)."""
    global _write_gate
    current = database.obj
    if current is not None and getattr(current, "_pentapi_url", None) == url:
        _write_gate = threading.BoundedSemaphore(max(1, write_concurrency))
        return current
    if current is not None:
        # Only this thread's connection and the idle ones: a connection another thread is using
        # (a worker's background thread) stays with it; closing it under that thread crashes
        # SQLite, and the thread lets go of it on its own.
        current.close()
        if isinstance(current, PooledSqliteDatabase):
            current.close_idle()
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A pool: "close" at the end of a request returns the connection instead of paying
        # for a new one (and its pragmas) on the next request. Threads wait for a free one.
        db = PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                                  max_connections=64, timeout=30, stale_timeout=300)
    else:
        db = connect(url)
    db._pentapi_url = url  # type: ignore[attr-defined]
    database.initialize(db)
    _write_gate = threading.BoundedSemaphore(max(1, write_concurrency))
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)  # pooled SQLite included


def init_schema(models: t.Iterable[type[peewee.Model]]) -> None:
    """Create tables (and WAL mode) once; safe to repeat. Call before forking workers.

    Migration is additive only: a column a model gained since its table was created is added
    (with the field's default for existing rows). Renames and drops are deliberate, manual
    steps, never guessed at start-up.
    """
    models = list(models)
    with database.connection_context():
        if is_sqlite():
            database.execute_sql("PRAGMA journal_mode=WAL")
        with write():
            _add_missing_columns(models)
            database.create_tables(models, safe=True)


def _add_missing_columns(models: list[type[peewee.Model]]) -> None:
    existing = set(database.get_tables())
    migrator = SchemaMigrator.from_database(database.obj)
    operations = []
    for model in models:
        table = model._meta.table_name
        if table not in existing:
            continue  # create_tables makes it whole
        have = {column.name for column in database.get_columns(table)}
        operations += [
            migrator.add_column(table, field.column_name, field)
            for field in model._meta.sorted_fields
            if field.column_name not in have
        ]
    if operations:
        migrate(*operations)


@contextmanager
def write() -> t.Iterator[None]:
    """A short write transaction: gated per process, BEGIN IMMEDIATE on SQLite.

    BEGIN IMMEDIATE takes SQLite's write lock up front, so a transaction never fails half-way
    on a lock upgrade; the busy timeout queues writers from other processes.
    """
    with _write_gate:
        if is_sqlite():
            with _immediate():
                yield
        else:
            with database.atomic():
                yield


BUSY_SECONDS = 5.0  # = the busy_timeout pragma: how long a writer waits for another process


@contextmanager
def _immediate() -> t.Iterator[None]:
    """BEGIN IMMEDIATE, retried every fraction of a millisecond while another process writes.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between
    attempts: with two workers writing steadily, a waiter often sleeps long after the lock was
    free (measured: turn-stream first-event p99 of several hundred ms). So the first attempt
    runs with busy_timeout 0 and we retry with short naps; nothing else changes (statements
    inside the transaction hold the lock and never wait).
    """
    deadline = time.monotonic() + BUSY_SECONDS
    nap = 0.0002
    database.execute_sql("PRAGMA busy_timeout = 0")
    try:
        while True:
            transaction = database.atomic(lock_type="IMMEDIATE")
            try:
                transaction.__enter__()
                break
            except peewee.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(nap)
                nap = min(nap * 2, 0.002)
    finally:
        database.execute_sql(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
    try:
        yield
    except BaseException as exc:
        transaction.__exit__(type(exc), exc, exc.__traceback__)  # rolls back
        raise
    transaction.__exit__(None, None, None)  # commits


async def in_thread(fn: t.Callable[..., T], *args: t.Any) -> T:
    """Run blocking database work from an async handler: on anyio's worker threads, with a
    connection opened before and returned to the pool after (Flask's per-request hooks do the
    same for synchronous handlers)."""

    def call() -> T:
        with database.connection_context():
            return fn(*args)

    return await anyio.to_thread.run_sync(call)


def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()
        return True
    except (peewee.PeeweeException, ValueError):  # ValueError: the pool's MaxConnectionsExceeded
        return False
