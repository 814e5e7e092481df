"""loup: handlers for marketplace operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("searchMarketplace")
def search_marketplace(**kwargs):
    """GET /api/v1/marketplace/search (scaffolded by `pentapi generate`: answers 501 until written)."""
