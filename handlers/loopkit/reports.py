"""loopkit: GET /v1/reports/latest.md, the latest packet and the last hour as markdown."""

from __future__ import annotations

import flask

from handlers.loopkit import access, packets, report, standing
from server.settings import current
from storage.base import utcnow


def get_reports_latest_md():
    caller = access.principal()
    now, totals = standing.live(caller, current().loopkit_window_max_records)
    text = report.render(standing.project_standing(caller["project_id"]).model_dump(), totals,
                         now.window.model_dump(), packets.latest(caller["project_id"]), utcnow())
    return flask.Response(text, status=200, mimetype="text/markdown")
