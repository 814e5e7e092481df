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
"""

from __future__ import annotations

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
        fresh = [row for key, row in rows.items() if key not in stored]
        for row in fresh:
            if not row["session_id"]:
                session = batch_sessions.get(row["trace_id"]) or stored_sessions.get(row["trace_id"])
                if session:
                    row["session_id"] = row["session_key"] = session
        granted = next(iter(grant_statement(project_id, len(fresh)).execute())).last_grant if fresh else 0
        for chunk in _chunks(fresh[:granted]):
            Record.insert_many(chunk).execute()
        for trace_id in sorted(unsessioned & batch_sessions.keys()):
            session = batch_sessions[trace_id]
            (Record.update(session_id=session, session_key=session)
             .where((Record.project == project_id) & (Record.trace_id == trace_id) & Record.session_id.is_null())
             .execute())
    return Stored(accepted=granted, duplicates=len(rows) - len(fresh) + in_batch, rejected=len(fresh) - granted)
