"""loup: handlers for me operations (see specs/loup.json)."""

from __future__ import annotations

from generated.loup.models import Account
from handlers.loup import access


def get_me() -> tuple[dict, int, dict[str, str]]:
    """GET /api/v1/me: the key's account, scopes and id."""
    info, headers = access.creator()
    account = Account(account_id=info["account_id"], scopes=info["scopes"], key_id=info["key_id"])
    return account.model_dump(mode="json"), 200, headers
