"""loopkit: handlers for recover operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postRecover")
def post_recover(**kwargs):
    """POST /v1/recover (scaffolded by `pentapi generate`: answers 501 until written)."""
