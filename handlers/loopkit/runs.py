"""loopkit: handlers for runs operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postRunsDiagnose")
def post_runs_diagnose(**kwargs):
    """POST /v1/runs/diagnose (scaffolded by `pentapi generate`: answers 501 until written)."""
