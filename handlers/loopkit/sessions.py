"""loopkit: GET /v1/sessions and GET /v1/sessions/{id} (agent key).

Records group into sessions by session id (session.id, langfuse.session.id or
gen_ai.conversation.id, propagated over the whole trace at ingest), else by trace id. The
list is most recently active first, `limit` counted after grouping; one session is its summary
plus its raw records in time order. `id` may be a session id, a trace id or a record id.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from handlers.loopkit import access, records, window
from handlers.loopkit.shapes import SessionDetail, SessionList, SessionSummary, TelemetryRecord, Window, dump
from server.errors import ApiError
from server.settings import current

DEFAULT_MINUTES = 1440  # sessions are browsed over a day unless since_minutes says otherwise


def _time(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def _summary(row: dict[str, t.Any], detail: dict[str, t.Any]) -> SessionSummary:
    errors = int(row["errors"] or 0)
    last_root_failed = detail.get("last_root_failed")
    if errors == 0:
        outcome = "succeeded"
    elif last_root_failed is False:
        outcome = "recovered"  # something failed inside, the turn itself ended well
    else:
        outcome = "failed"
    agents = detail.get("agents", [])
    return SessionSummary(
        session_id=row["session_key"],
        grouped_by="session_id" if row["session_id"] else "trace_id",
        agent=agents[0] if agents else row["service"],
        agents=agents,
        service=row["service"],
        environment=row["environment"],
        outcome=outcome,
        end_reason=detail.get("end_reason") if errors else None,
        turns=row["turns"],
        traces=row["traces"],
        errors=errors,
        tool_calls=int(row["tool_calls"] or 0),
        llm_calls=int(row["llm_calls"] or 0),
        input_tokens=int(row["input_tokens"] or 0),
        output_tokens=int(row["output_tokens"] or 0),
        started_at=_time(row["start_ms"]),
        ended_at=_time(row["end_ms"]),
        duration_ms=float(row["end_ms"] - row["start_ms"]),
    )


def get_sessions(limit: int = 50, since_minutes: int | None = None, environment: str | None = None):
    settings = current()
    caller = access.principal()
    bounds = window.bounds(caller["project_id"], since_minutes or DEFAULT_MINUTES, settings.loopkit_window_max_records)
    rows = window.session_rows(bounds, limit, environment)
    details = window.session_details(bounds, [r["session_key"] for r in rows])
    result = SessionList(
        project_id=caller["project_id"],
        window=Window(**bounds.describe()),
        environment=environment,
        count=len(rows),
        sessions=[_summary(r, details[r["session_key"]]) for r in rows],
    )
    return dump(result)


def get_sessions_by_id(id_: str, since_minutes: int | None = None):
    settings = current()
    caller = access.principal()
    bounds = window.bounds(caller["project_id"], since_minutes or DEFAULT_MINUTES, settings.loopkit_window_max_records)
    found = window.session_of(bounds, id_)
    row = window.session_row(bounds, found[0]) if found else None
    if found is None or row is None:
        raise ApiError(404, "session_not_found",
                       f"no session, trace or record {id_!r} in the last {bounds.since_minutes} minutes")
    limit = settings.loopkit_read_max_records
    rows = window.session_records(bounds, found[0], limit + 1)
    detail = SessionDetail(
        project_id=caller["project_id"],
        matched=found[1],
        session=_summary(row, window.session_details(bounds, [found[0]])[found[0]]),
        truncated=len(rows) > limit,
        records=[TelemetryRecord(**records.to_public(r)) for r in rows[:limit]],
    )
    return dump(detail)
