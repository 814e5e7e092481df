"""lithtrix: handlers for keys operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("rotate_api_key_v1_keys_rotate_post")
def rotate_api_key_v1_keys_rotate_post(**kwargs):
    """POST /v1/keys/rotate (scaffolded by `pentapi generate`: answers 501 until written)."""
