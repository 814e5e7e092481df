"""The hot statements, hand-written: the turn log's, and the reads of GET /loops/{id}.

Every message, every batch of deltas, every poll of the log and every owner check runs these.
Building them with Peewee's query builder cost more CPU than running them (profiled: ~40% of
opening a turn stream went to SQL generation), so they are fixed strings with parameters.
Peewee still owns the tables (storage/loopat.py), the connection and the transaction;
everything else in the package uses its query builder. Placeholders are written `?` and
switched to the database's own style (`%s` on PostgreSQL); identifiers that are reserved words
there are quoted.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing as t

from storage import db
from storage.loopat import Loop

LOOP_COLUMNS = ('id, "user", title, created_at, vault, profiles, repo, archived, permission_mode, turn_count, '
                "runner, lease_until")


class LoopRow(t.NamedTuple):
    id: str
    user: str
    title: str
    created_at: dt.datetime
    vault: str
    profiles: str
    repo: str | None
    archived: bool
    permission_mode: str
    turn_count: int
    runner: str | None
    lease_until: float | None


@functools.lru_cache(maxsize=256)
def _styled(sql: str, param: str) -> str:
    return sql if param == "?" else sql.replace("?", param)


def execute(sql: str, params: t.Sequence[t.Any] = ()) -> t.Any:
    """Run one statement on the current connection; returns the DB-API cursor."""
    return db.database.execute_sql(_styled(sql, db.database.param), params)


def executemany(sql: str, rows: t.Sequence[t.Sequence[t.Any]]) -> None:
    cursor = db.database.cursor()
    cursor.executemany(_styled(sql, db.database.param), rows)


def stamp(moment: dt.datetime) -> str:
    """A UTC datetime as Peewee's DateTimeField stores it (so both read the same column)."""
    return str(moment)


def loop_row(loop_id: str) -> LoopRow | None:
    row = execute(f"SELECT {LOOP_COLUMNS} FROM loopat_loop WHERE id = ?", (loop_id,)).fetchone()
    if row is None:
        return None
    return LoopRow(row[0], row[1], row[2], _moment(row[3]), row[4], row[5], row[6], bool(row[7]), row[8], row[9],
                   row[10], row[11])


def loop_model(loop_id: str) -> Loop | None:
    """The whole loop as its Peewee model (GET /loops/{id} and every owner check read it)."""
    return next(iter(Loop.raw(_styled("SELECT * FROM loopat_loop WHERE id = ?", db.database.param), loop_id)), None)


class ActiveTurn(t.NamedTuple):
    id: str
    state: str
    started_at: dt.datetime | None
    pending_choice: str | None


def active_turns(loop_id: str) -> tuple[int, list[ActiveTurn]]:
    """The loop's turn count and its queued and running turns, in queue order (one read)."""
    rows = execute('SELECT l.turn_count, t.id, t.state, t.started_at, t.pending_choice FROM loopat_loop l '
                   'LEFT JOIN loopat_turn t ON t."loop" = l.id AND t.state IN (?, ?) WHERE l.id = ? ORDER BY t.seq',
                   ("queued", "running", loop_id)).fetchall()
    if not rows:
        raise LookupError(loop_id)
    return rows[0][0], [ActiveTurn(row[1], row[2], _moment(row[3]), row[4]) for row in rows if row[1] is not None]


def _moment(value: t.Any) -> dt.datetime | None:
    return value if value is None or isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def active_counts(loop_id: str) -> tuple[int, int]:
    """(queued, running) turns of the loop."""
    counts = dict(execute('SELECT state, count(*) FROM loopat_turn WHERE "loop" = ? AND state IN (?, ?) '
                          "GROUP BY state", (loop_id, "queued", "running")).fetchall())
    return counts.get("queued", 0), counts.get("running", 0)


def take_lease(loop_id: str, claimant: str, until: float, now: float, count_turn: bool,
               permission_mode: str | None) -> bool:
    """Take the loop's lease if it is free, expired or already ours; in the same statement count a
    turn that starts now and keep a mode sent with the message."""
    cursor = execute("UPDATE loopat_loop SET runner = ?, lease_until = ?, turn_count = turn_count + ?, "
                     "permission_mode = coalesce(?, permission_mode) "
                     "WHERE id = ? AND (runner IS NULL OR lease_until < ? OR runner = ?)",
                     (claimant, until, 1 if count_turn else 0, permission_mode, loop_id, now, claimant))
    return cursor.rowcount > 0


def set_permission_mode(loop_id: str, permission_mode: str) -> None:
    execute("UPDATE loopat_loop SET permission_mode = ? WHERE id = ?", (permission_mode, loop_id))


def insert_turn(turn_id: str, loop_id: str, user: str, content: str, permission_mode: str | None,
                key: str | None, request_hash: str, state: str, runner: str | None, now: dt.datetime) -> None:
    execute('INSERT INTO loopat_turn (id, "loop", "user", content, permission_mode, idempotency_key, request_hash, '
            "state, runner, started_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (turn_id, loop_id, user, content, permission_mode, key, request_hash, state, runner,
             stamp(now) if state == "running" else None, stamp(now)))


def insert_event(loop_id: str, turn_id: str, name: str, data: str) -> int:
    """One event; returns its seq (the SSE id)."""
    return execute('INSERT INTO loopat_event ("loop", turn, name, data) VALUES (?, ?, ?, ?) RETURNING seq',
                   (loop_id, turn_id, name, data)).fetchone()[0]


def insert_events(rows: t.Sequence[tuple[str, str, str, str]]) -> None:
    """(loop, turn, name, data) rows, in order."""
    executemany('INSERT INTO loopat_event ("loop", turn, name, data) VALUES (?, ?, ?, ?)', rows)


def still_running(turn_id: str) -> bool:
    # An UPDATE, not a SELECT: the guard holds on databases without SQLite's single writer too.
    cursor = execute("UPDATE loopat_turn SET state = state WHERE id = ? AND state = ?", (turn_id, "running"))
    return cursor.rowcount > 0


def events_after(seq: int, limit: int) -> list[tuple]:
    return execute('SELECT seq, "loop", turn, name, data FROM loopat_event WHERE seq > ? ORDER BY seq LIMIT ?',
                   (seq, limit)).fetchall()


def insert_choice(choice_id: str, loop_id: str, turn_id: str, kind: str, payload: str, now: dt.datetime) -> None:
    """A pending choice, and the turn's pointer to it."""
    execute('INSERT INTO loopat_choice (id, "loop", turn, kind, payload, state, created_at) '
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (choice_id, loop_id, turn_id, kind, payload, "pending", stamp(now)))
    execute("UPDATE loopat_turn SET pending_choice = ? WHERE id = ?", (choice_id, turn_id))


def token_by_digest(digest: str) -> tuple | None:
    """(id, digest, user, last_used_at) of a live token of an enabled user."""
    return execute('SELECT t.id, t.digest, t."user", t.last_used_at FROM loopat_api_token t '
                   'JOIN loopat_user u ON u.username = t."user" WHERE t.digest = ? AND NOT u.disabled',
                   (digest,)).fetchone()
