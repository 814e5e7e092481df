"""lithtrix: handlers for usage operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("read_usage_v1_usage_get")
def read_usage_v1_usage_get(**kwargs):
    """GET /v1/usage (scaffolded by `pentapi generate`: answers 501 until written)."""
