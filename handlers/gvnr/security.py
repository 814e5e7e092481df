"""gvnr: the `bg_` account key as a Bearer header (`bearerAuth`) or as the `api_key` query
parameter (`apiKeyQuery`). Both verify through handlers/gvnr/keys.py; a Bearer header wins
when both are sent."""

from __future__ import annotations

import typing as t

from connexion.security import NO_VALUE

from handlers.gvnr.keys import verify


def bearer_auth(token: str, required_scopes: list[str] | None = None) -> dict[str, str]:
    """`Authorization: Bearer bg_...` -> {"account_id": ...}."""
    return {"account_id": verify(token)}


def api_key_query(api_key: str, required_scopes: list[str] | None = None, request: t.Any = None) -> t.Any:
    """`?api_key=bg_...`, for clients that cannot send headers (x402 clients, MCP connectors)."""
    if request is not None and request.headers.get("authorization", "").lower().startswith("bearer"):
        return NO_VALUE  # bearerAuth decides
    return {"account_id": verify(api_key)}
