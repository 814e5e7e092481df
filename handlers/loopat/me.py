"""loopat: handlers for me operations (see specs/loopat.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getMeTokens")
def get_me_tokens(**kwargs):
    """GET /me/tokens (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postMeTokens")
def post_me_tokens(**kwargs):
    """POST /me/tokens (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("deleteMeTokensByTokenId")
def delete_me_tokens_by_token_id(**kwargs):
    """DELETE /me/tokens/{tokenId} (scaffolded by `pentapi generate`: answers 501 until written)."""
