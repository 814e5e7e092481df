"""loopkit: handlers for traces operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postTraces")
def post_traces(**kwargs):
    """POST /v1/traces (scaffolded by `pentapi generate`: answers 501 until written)."""
