"""gvnr: handlers for idempotency operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postIdempotencyCheck")
def post_idempotency_check(**kwargs):
    """POST /v1/idempotency/check (scaffolded by `pentapi generate`: answers 501 until written)."""
