"""loup: handlers for installs operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("listInstalls")
def list_installs(**kwargs):
    """GET /api/v1/installs (scaffolded by `pentapi generate`: answers 501 until written)."""
