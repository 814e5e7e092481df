"""lithtrix: handlers for guide operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("get_guide_v1_guide_get")
def get_guide_v1_guide_get(**kwargs):
    """GET /v1/guide (scaffolded by `pentapi generate`: answers 501 until written)."""
