"""lithtrix: handlers for capabilities operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("capabilities_v1_capabilities_get")
def capabilities_v1_capabilities_get(**kwargs):
    """GET /v1/capabilities (scaffolded by `pentapi generate`: answers 501 until written)."""
