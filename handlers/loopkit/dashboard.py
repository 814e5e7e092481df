"""loopkit: GET /v1/dashboard, agent-readable JSON (agent key): the project's standing, the
last hour's stats and top signals (the rules run live, nothing persisted), and the latest
persisted diagnosis packet."""

from __future__ import annotations

from handlers.loopkit import access, packets, standing
from handlers.loopkit.shapes import Dashboard, WindowStats, dump
from server.settings import current

PATH = "/v1/dashboard"


def get_dashboard():
    caller = access.principal()
    now, totals = standing.live(caller, current().loopkit_window_max_records)
    base = access.base_url(PATH)
    latest = packets.latest(caller["project_id"])
    result = Dashboard(
        project=standing.project_standing(caller["project_id"]),
        window=now.window,
        stats=WindowStats(**totals),
        top_signals=standing.top_signals(now),
        latest_packet=latest,
        report_url=f"{base}/v1/reports/latest.md",
        diagnose_url=f"{base}/v1/runs/diagnose",
    )
    body = dump(result)
    # the packet keeps the spec's DiagnosisPacket shape (no null approval_reason)
    body["latest_packet"] = latest.model_dump(mode="json", exclude_none=True) if latest else None
    return body
