"""Short, hot write transactions with group commit, run by one writer per process on the
event loop itself.

A job is a plain function `fn(conn, *args)` over a DB-API connection that runs a few SQL
statements (sqlite3 prepares each statement string once per connection and caches it). From
async code, `await run(fn, ...)` queues the job; at the end of the current loop iteration the
writer runs every queued job one after another inside a single `BEGIN IMMEDIATE ... COMMIT`,
each in its own SAVEPOINT:

* a job that raises is rolled back alone (its exception goes to its caller);
* a job that raises `Rollback(value)` is rolled back alone and its caller gets `value`
  (a denial that must leave no trace, e.g. an operation taken back);
* every job's result is delivered only after the COMMIT that made it durable.

Each job is atomic and jobs never interleave: within a process there is one writer, across
processes SQLite's write lock serializes transactions. One lock acquisition and one commit
cover a whole batch. The writer never blocks the loop waiting for that lock: when another
process holds it, the attempt is retried a fraction of a millisecond later while more jobs
queue up (SQLite's own busy handler would sleep 1, 2, 5, 10 ... ms between tries, which is
what made racing writers' p99 ~1 s in DESIGN.md's measurements). Staying on the loop also
means no thread hand-off per request.

    result = await writer.run(job, account_id, ...)   # async code, on the event loop
    result = writer.call(job, account_id, ...)        # a synchronous thread (own connection)
    row = writer.read(fn, ...)                        # a short read on this thread's connection

On a database other than SQLite the same jobs run through Peewee inside `db.write()`.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import sqlite3
import threading
import time
import typing as t
import weakref

import peewee

from storage import db

Job = t.Callable[..., t.Any]


class Conn(t.Protocol):
    """What a job may use: sqlite3.Connection.execute (or its Peewee stand-in)."""

    def execute(self, sql: str, parameters: t.Any = ..., /) -> t.Any: ...

MAX_BATCH = 256
BUSY_TIMEOUT_S = 5.0  # how long a batch may wait for another process's write lock
_RETRY_FIRST_S, _RETRY_MAX_S = 0.0002, 0.002


class Rollback(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a job to undo its own statements and hand `value` to its caller."""

    def __init__(self, value: t.Any) -> None:
        super().__init__("rollback")
        self.value = value


class Busy(Exception):  # noqa: N818
    """The database stayed locked by another writer for longer than the busy timeout."""


def _connect(path: str, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, cached_statements=256)
    for name, value in db.SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {name}={value}")
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    return conn


def _run_batch(conn: sqlite3.Connection, batch: list[tuple[t.Any, Job, tuple]]) -> list[tuple[t.Any, bool, t.Any]]:
    """Run jobs in the open transaction, each in a savepoint; COMMIT. (future, ok, value) each."""
    outcomes = []
    for future, fn, args in batch:
        if future is not None and future.done():  # its caller was cancelled before it ran: skip it
            continue
        conn.execute("SAVEPOINT job")
        try:
            outcomes.append((future, True, fn(conn, *args)))
            conn.execute("RELEASE job")
        except Rollback as signal:
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            outcomes.append((future, True, signal.value))
        except Exception as exc:  # noqa: BLE001 - handed to the job's caller
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            outcomes.append((future, False, exc))
    conn.execute("COMMIT")
    return outcomes


class _Checkpointer:
    """Copies the WAL back into the database file on its own thread, so a commit on the loop
    never pays for a checkpoint (page copies and fsyncs: milliseconds, a p99 stall)."""

    EVERY_COMMITS = 64
    _KEEP = 4  # connections kept open (one per database file; tests use many files)

    def __init__(self) -> None:
        self.wanted: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def request(self, path: str) -> None:
        if self.thread is None or self.pid != os.getpid():
            self.pid = os.getpid()
            self.thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)
            self.thread.start()
        self.wanted.put(path)

    def _loop(self) -> None:
        conns: dict[str, sqlite3.Connection] = {}
        while True:
            path = self.wanted.get()
            conn = conns.pop(path, None) or _connect(path)
            conns[path] = conn  # most recently used last
            while len(conns) > self._KEEP:
                conns.pop(next(iter(conns))).close()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # busy, or the file is gone: a later request tries again
                pass


_checkpointer = _Checkpointer()


class _LoopWriter:
    """The writer of one event loop (one per worker process) for one database file."""

    def __init__(self, loop: asyncio.AbstractEventLoop, path: str) -> None:
        self.loop = loop
        self.path = path
        self.conn = _connect(path, busy_timeout_ms=0)  # never wait inside SQLite: retry on the loop
        self.conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
        self.commits = 0
        self.queue: list[tuple[asyncio.Future, Job, tuple]] = []
        self.scheduled = False
        self.waiting_since: float | None = None
        self.retry_s = _RETRY_FIRST_S

    def submit(self, fn: Job, args: tuple) -> asyncio.Future:
        future = self.loop.create_future()
        self.queue.append((future, fn, args))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self._flush)  # after the callbacks already ready: they may queue too
        return future

    def _flush(self) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._wait(exc)
            return
        self.waiting_since, self.retry_s = None, _RETRY_FIRST_S
        batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
        try:
            outcomes = _run_batch(self.conn, batch)
            self.commits += 1
            if self.commits % _Checkpointer.EVERY_COMMITS == 0:
                _checkpointer.request(self.path)
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            for future, _, _ in batch:
                if not future.done():
                    future.set_exception(Busy(str(exc)) if isinstance(exc, sqlite3.OperationalError) else exc)
            outcomes = []
            if not isinstance(exc, Exception):
                raise
        finally:
            if self.queue:
                self.loop.call_soon(self._flush)
            else:
                self.scheduled = False
        for future, ok, value in outcomes:
            if future.done():  # cancelled while the batch ran: the job did commit
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _wait(self, exc: sqlite3.OperationalError) -> None:
        """Another connection holds the write lock: try again shortly, up to the busy timeout."""
        now = time.monotonic()
        if self.waiting_since is None:
            self.waiting_since = now
        if now - self.waiting_since > BUSY_TIMEOUT_S:
            batch, self.queue = self.queue, []
            self.scheduled, self.waiting_since, self.retry_s = False, None, _RETRY_FIRST_S
            for future, _, _ in batch:
                if not future.done():
                    future.set_exception(Busy(str(exc)))
            return
        self.loop.call_later(self.retry_s, self._flush)
        self.retry_s = min(self.retry_s * 2, _RETRY_MAX_S)


_loop_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopWriter] = weakref.WeakKeyDictionary()


def _sqlite_path() -> str | None:
    bound = db.database.obj
    return bound.database if isinstance(bound, peewee.SqliteDatabase) else None


async def run(fn: Job, *args: t.Any) -> t.Any:
    """Run a job in this process's writer; its committed result (or its exception)."""
    path = _sqlite_path()
    if path is None:
        return await asyncio.to_thread(_peewee_job, fn, args)
    loop = asyncio.get_running_loop()
    writer = _loop_writers.get(loop)
    if writer is None or writer.path != path:
        if writer is not None:
            writer.conn.close()
        writer = _loop_writers[loop] = _LoopWriter(loop, path)
    return await writer.submit(fn, args)


_threads = threading.local()
_sync_gate = threading.Lock()  # one synchronous writer per process at a time


def _thread_conn(path: str) -> sqlite3.Connection:
    conn = getattr(_threads, "conn", None)
    if conn is None or getattr(_threads, "path", None) != path or getattr(_threads, "pid", None) != os.getpid():
        conn = _connect(path)
        _threads.conn, _threads.path, _threads.pid = conn, path, os.getpid()
    return conn


def call(fn: Job, *args: t.Any) -> t.Any:
    """Run a job in its own transaction from a synchronous thread (a Flask handler, a command)."""
    path = _sqlite_path()
    if path is None:
        return _peewee_job(fn, args)
    conn = _thread_conn(path)
    with _sync_gate:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise Busy(str(exc)) from None
        try:
            ((_, ok, value),) = _run_batch(conn, [(None, fn, args)])
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    if not ok:
        raise value
    return value


def read(fn: Job, *args: t.Any) -> t.Any:
    """Run a read-only `fn(conn, ...)` on this thread's own connection (WAL: readers never wait
    for writers). Short indexed reads only: it may run on the event loop."""
    path = _sqlite_path()
    if path is None:
        with db.database.connection_context():
            return fn(_PeeweeConnection(), *args)
    return fn(_thread_conn(path), *args)


# ------------------------------------------------------------------ other databases (PostgreSQL)

_NAMED = re.compile(r"(?<!:):([a-z_]+)")


class _PeeweeConnection:
    """Just enough of sqlite3.Connection for the jobs, over Peewee's connection: `:name`
    parameters become the driver's `%(name)s`."""

    def execute(self, sql: str, params: t.Any = ()) -> t.Any:
        if isinstance(params, dict):
            sql = _NAMED.sub(r"%(\1)s", sql)
        else:
            sql = sql.replace("?", "%s")
        return db.database.execute_sql(sql, params)


def _peewee_job(fn: Job, args: tuple) -> t.Any:
    with db.database.connection_context():
        try:
            with db.write():
                return fn(_PeeweeConnection(), *args)
        except Rollback as signal:  # db.write() rolled the transaction back on the way out
            return signal.value
