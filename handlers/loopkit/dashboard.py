"""loopkit: handlers for dashboard operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getDashboard")
def get_dashboard(**kwargs):
    """GET /v1/dashboard (scaffolded by `pentapi generate`: answers 501 until written)."""
