"""loopat: handlers for me operations (see specs/loopat.json).

Cookie-only (the spec's security is CookieAuth alone): a bot holding an `la_` token cannot
mint, list or revoke tokens. Token rules are upstream's api-tokens.ts (handlers/loopat/accounts.py).
"""

from __future__ import annotations

import flask
from connexion import context

from generated.loopat.models import ApiTokenCreated, ApiTokenView, MeTokensGetResponse
from handlers.loopat import accounts
from server.errors import ApiError


def get_me_tokens() -> dict:
    """GET /me/tokens: the caller's tokens, newest first, without plaintext."""
    views = [ApiTokenView(tokenId=row.id, label=row.label, createdAt=row.created_at, lastUsedAt=row.last_used_at)
             for row in accounts.list_tokens(_user())]
    return MeTokensGetResponse(tokens=views).model_dump(mode="json", exclude_none=True)


def post_me_tokens(body: dict | None = None) -> tuple[dict, int]:
    """POST /me/tokens: 201 with the plaintext, shown this once."""
    row, secret = accounts.create_token(_user(), (body or {}).get("label"))
    created = ApiTokenCreated(tokenId=row.id, token=secret, label=row.label, createdAt=row.created_at)
    return created.model_dump(mode="json"), 201


def delete_me_tokens_by_token_id(token_id: str) -> flask.Response:
    """DELETE /me/tokens/{tokenId}: 204, or 404 `token_not_found` (another user's token too)."""
    if not accounts.revoke_token(_user(), token_id):
        raise ApiError(404, "token_not_found", "no token with this id")
    return flask.Response(status=204, mimetype="application/json")


def _user() -> str:
    return context.context["token_info"]["sub"]
