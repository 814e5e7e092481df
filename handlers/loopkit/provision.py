"""loopkit: handlers for provision operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postProvision")
def post_provision(**kwargs):
    """POST /v1/provision (scaffolded by `pentapi generate`: answers 501 until written)."""
