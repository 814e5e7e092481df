"""gvnr: handlers for packs operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getPacksByPackInfo")
def get_packs_by_pack_info(**kwargs):
    """GET /v1/packs/{pack}/info (scaffolded by `pentapi generate`: answers 501 until written)."""
