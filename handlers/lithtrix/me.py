"""lithtrix: handlers for me operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("read_me_v1_me_get")
def read_me_v1_me_get(**kwargs):
    """GET /v1/me (scaffolded by `pentapi generate`: answers 501 until written)."""
