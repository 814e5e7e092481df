"""loup: handlers for me operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getMe")
def get_me(**kwargs):
    """GET /api/v1/me (scaffolded by `pentapi generate`: answers 501 until written)."""
