"""`bg_` account keys: the format, verification, and the authenticated account of a request.

Only the SHA-256 of a key is stored; a presented key is hashed, looked up by that digest
(one indexed read) and compared in constant time. Keys are never revoked or rotated in this
API, so a verified digest is remembered for a short while per process: the hot operations
(clear, rate check) then pay no database read for authentication.
"""

from __future__ import annotations

import re
import time
import typing as t

from connexion import context

from server import tokens
from server.errors import ApiError
from storage.gvnr import Account

KEY_PREFIX = "bg_"
KEY_FORMAT = re.compile(r"^bg_[0-9a-f]{32}$")
_CACHE_SECONDS = 60.0
_CACHE_MAX = 50_000
_verified: dict[str, tuple[str, float]] = {}  # digest -> (account id, when verified, monotonic)


def verify(key: str) -> str:
    """The account id `key` belongs to, or 401 invalid_api_key."""
    if not KEY_FORMAT.match(key):
        raise invalid_key()
    digest = tokens.digest(key)
    now = time.monotonic()
    hit = _verified.get(digest)
    if hit is not None and now - hit[1] < _CACHE_SECONDS:
        return hit[0]
    account = Account.select(Account.id, Account.key_digest).where(Account.key_digest == digest).first()
    if account is None or not tokens.matches(account.key_digest, key):
        raise invalid_key()
    if len(_verified) >= _CACHE_MAX:
        _verified.clear()
    _verified[digest] = (account.id, now)
    return account.id


def forget(account_id: str) -> None:
    """Drop an account from this process's verified-key memory (after deleting it)."""
    for digest, (cached, _) in list(_verified.items()):
        if cached == account_id:
            del _verified[digest]


def account_id() -> str:
    """The authenticated account of the current (synchronous, Flask) request."""
    return context.context["token_info"]["account_id"]


def account_of(scope: t.Mapping[str, t.Any]) -> str:
    """The authenticated account of an `async def` handler's request (its ASGI scope)."""
    return scope["extensions"]["connexion_context"]["token_info"]["account_id"]


def invalid_key() -> ApiError:
    return ApiError(401, "invalid_api_key", "unknown API key; create one with POST /v1/account",
                    retryable=False)
