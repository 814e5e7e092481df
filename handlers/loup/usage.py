"""loup: handlers for usage operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("listUsage")
def list_usage(**kwargs):
    """GET /api/v1/usage (scaffolded by `pentapi generate`: answers 501 until written)."""
