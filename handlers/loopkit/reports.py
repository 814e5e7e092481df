"""loopkit: handlers for reports operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getReportsLatestMd")
def get_reports_latest_md(**kwargs):
    """GET /v1/reports/latest.md (scaffolded by `pentapi generate`: answers 501 until written)."""
