"""lithtrix: handlers for health operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("health_health_get")
def health_health_get(**kwargs):
    """GET /health (scaffolded by `pentapi generate`: answers 501 until written)."""
