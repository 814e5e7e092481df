"""loup: the two bearer schemes. Secrets are looked up by SHA-256 digest and then compared in
constant time; a principal dict comes back (connexion's `token_info`).

Scopes and rate limits are applied by the handlers (handlers/loup/access.py): these run on
the event loop, so they only read.
"""

from __future__ import annotations

from handlers.loup.provisioning import KEY_PREFIX, TOKEN_PREFIX
from server import tokens
from server.errors import ApiError
from storage.loup import ApiKey, Install, InstallToken


def bearer_auth(token: str, required_scopes: list[str] | None = None) -> dict:
    """Creator API keys (`plat_...`): {kind, account_id, key_id, scopes}."""
    if not token.startswith(KEY_PREFIX):
        raise ApiError(401, "UNAUTHORIZED", "invalid bearer token")
    key = ApiKey.get_or_none(ApiKey.digest == tokens.digest(token))
    if key is None or not tokens.matches(key.digest, token):
        raise ApiError(401, "UNAUTHORIZED", "invalid bearer token")
    if key.revoked_at is not None:
        raise ApiError(401, "KEY_REVOKED", "this API key has been revoked; mint a new one")
    return {
        "kind": "creator",
        "account_id": key.creator_id,
        "key_id": key.id,
        "scopes": key.scopes.split(),
    }


def install_token_auth(token: str, required_scopes: list[str] | None = None) -> dict:
    """Buyer install tokens (`loupit_...`): {kind, token_id, install_id, pack_id}.

    A revoked token or a canceled install is refused: the buyer mints a fresh install command.
    """
    if not token.startswith(TOKEN_PREFIX):
        raise ApiError(401, "UNAUTHORIZED", "invalid install token")
    row = (
        InstallToken.select(InstallToken, Install)
        .join(Install)
        .where(InstallToken.digest == tokens.digest(token))
        .first()
    )
    if row is None or not tokens.matches(row.digest, token):
        raise ApiError(401, "UNAUTHORIZED", "invalid install token")
    if row.revoked_at is not None:
        raise ApiError(
            401, "TOKEN_REVOKED", "this install token was revoked; get a fresh install command"
        )
    if row.install.status == "canceled":
        raise ApiError(401, "INSTALL_CANCELED", "this install is canceled")
    return {
        "kind": "install",
        "token_id": row.id,
        "install_id": row.install.id,
        "pack_id": row.install.pack_id,
    }
