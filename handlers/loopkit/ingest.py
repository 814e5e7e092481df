"""Storing one decoded export: dedupe, session propagation, quota, insert, in one transaction.

* A span already stored (same trace and span id: an exporter retry) is accepted again but not
  stored twice, and does not count against the quota.
* Sessions: a trace's session id (session.id, gen_ai.conversation.id, ...) often sits on one
  span only, and that root span usually ends, and so is exported, last. Every span of a trace
  gets the id found on any of its spans, in this batch or an earlier one, and earlier records of
  the trace are updated when the id arrives later.
* Quota: ONE conditional UPDATE moves `spans_used` by what fits under `quota_spans` and writes
  the grant beside it; the spans past the grant are rejected (OTLP partial success). The count
  is exact across threads and processes.

Rows are built before the write transaction, and inserted with one prepared statement
(executemany): Peewee renders a 512-row insert_many in ~0.2 s of Python, which would all be
spent holding the write lock.
"""

from __future__ import annotations

import functools
import time
import typing as t
from dataclasses import dataclass

from peewee import Case

from handlers.loopkit import records
from handlers.loopkit.otlp import Span
from storage import db
from storage.loopkit import Project, Record

CHUNK = 500  # rows per INSERT and ids per IN (...): well under SQLite's variable limit


@dataclass(frozen=True)
class Stored:
    accepted: int  # new records stored
    duplicates: int  # already stored before (retries), accepted without storing
    rejected: int  # over the project's quota_spans


@functools.cache
def _insert_sql(param: str) -> tuple[str, tuple[str, ...]]:
    """INSERT INTO loopkit_record (...) VALUES (?, ...) ON CONFLICT DO NOTHING, and its columns.

    ON CONFLICT covers a concurrent writer storing the same span between our read and insert
    (possible on PostgreSQL's read-committed; SQLite's BEGIN IMMEDIATE already excludes it)."""
    columns = tuple(f.column_name for f in Record._meta.sorted_fields if f.name != "seq")
    quoted = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join([param] * len(columns))
    return f'INSERT INTO "{Record._meta.table_name}" ({quoted}) VALUES ({marks}) ON CONFLICT DO NOTHING', columns


def _chunks(items: list, size: int = CHUNK) -> t.Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def grant_statement(project_id: str, wanted: int):
    """UPDATE ... SET spans_used = spans_used + room, last_grant = room RETURNING last_grant, where
    room = min(wanted, quota_spans - spans_used) (never negative; all of it when no quota).
    Both assignments read the row's old values, so the grant and the counter move together."""
    room = Case(None, [
        (Project.quota_spans.is_null(), wanted),
        (Project.quota_spans - Project.spans_used >= wanted, wanted),
        (Project.quota_spans - Project.spans_used > 0, Project.quota_spans - Project.spans_used),
    ], 0)
    return (Project.update(spans_used=Project.spans_used + room, last_grant=room)
            .where(Project.id == project_id).returning(Project.last_grant))


def store(project_id: str, spans: list[Span], received_ms: int | None = None) -> Stored:
    received_ms = int(time.time() * 1000) if received_ms is None else received_ms
    rows: dict[tuple[str, str], dict] = {}
    for span in spans:  # the first copy of a span repeated inside one batch wins
        rows.setdefault((span.trace_id, span.span_id), records.to_row(project_id, span, received_ms))
    in_batch = len(spans) - len(rows)
    batch_sessions: dict[str, str] = {}
    for row in rows.values():
        if row["session_id"]:
            batch_sessions.setdefault(row["trace_id"], row["session_id"])
    traces = sorted({trace for trace, _ in rows})
    sql, columns = _insert_sql(db.database.param)
    values = {key: tuple(row[c] for c in columns) for key, row in rows.items()}

    with db.write():
        stored: set[tuple[str, str]] = set()
        stored_sessions: dict[str, str] = {}
        unsessioned: set[str] = set()  # traces with earlier records that lack a session id
        for chunk in _chunks(traces):
            query = (Record.select(Record.trace_id, Record.span_id, Record.session_id)
                     .where((Record.project == project_id) & Record.trace_id.in_(chunk)).tuples())
            for trace_id, span_id, session_id in query:
                stored.add((trace_id, span_id))
                if session_id:
                    stored_sessions.setdefault(trace_id, session_id)
                else:
                    unsessioned.add(trace_id)
        fresh = [key for key in rows if key not in stored]
        session_at = (columns.index("session_id"), columns.index("session_key"))
        for key in fresh:
            if not rows[key]["session_id"]:
                session = batch_sessions.get(key[0]) or stored_sessions.get(key[0])
                if session:
                    value = list(values[key])
                    value[session_at[0]] = value[session_at[1]] = session
                    values[key] = tuple(value)
        granted = next(iter(grant_statement(project_id, len(fresh)).execute())).last_grant if fresh else 0
        if granted:
            db.database.cursor().executemany(sql, [values[key] for key in fresh[:granted]])
        for trace_id in sorted(unsessioned & batch_sessions.keys()):
            session = batch_sessions[trace_id]
            (Record.update(session_id=session, session_key=session)
             .where((Record.project == project_id) & (Record.trace_id == trace_id) & Record.session_id.is_null())
             .execute())
    return Stored(accepted=granted, duplicates=len(rows) - len(fresh) + in_batch, rejected=len(fresh) - granted)
