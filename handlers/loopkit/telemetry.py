"""loopkit: GET /v1/telemetry, the recent bounded window of the key's project (agent key).

The last 60 minutes, newest first, at most LOOPKIT_READ_MAX_RECORDS records; `truncated`
says the window held more.
"""

from __future__ import annotations

from handlers.loopkit import access, records, window
from handlers.loopkit.shapes import TelemetryPage, TelemetryRecord, Window, dump
from server.settings import current

WINDOW_MINUTES = 60


def get_telemetry():
    settings = current()
    caller = access.principal()
    bounds = window.bounds(caller["project_id"], WINDOW_MINUTES, settings.loopkit_window_max_records)
    limit = settings.loopkit_read_max_records
    rows = window.recent(bounds, limit + 1)
    page = TelemetryPage(
        project_id=caller["project_id"],
        window=Window(**bounds.describe()),
        count=min(len(rows), limit),
        truncated=len(rows) > limit,
        records=[TelemetryRecord(**records.to_public(r)) for r in rows[:limit]],
    )
    return dump(page)
