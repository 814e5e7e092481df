"""lithtrix: handlers for search operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("search_v1_search_get")
def search_v1_search_get(**kwargs):
    """GET /v1/search (scaffolded by `pentapi generate`: answers 501 until written)."""
