"""gvnr: handlers for mcp operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postMcp")
def post_mcp(**kwargs):
    """POST /mcp (scaffolded by `pentapi generate`: answers 501 until written)."""
