"""loopkit: handlers for health operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getHealth")
def get_health(**kwargs):
    """GET /health (scaffolded by `pentapi generate`: answers 501 until written)."""
