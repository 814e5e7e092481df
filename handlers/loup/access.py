"""The HTTP edge shared by Loup's route modules: who is calling, with which scopes, and how
much of their rate-limit window is left.

Every authenticated request counts against its credential's fixed window (creator key or
install token); the public search counts against the client address. Successful answers
carry X-RateLimit-Remaining; a spent window answers 429 with Retry-After.
"""

from __future__ import annotations

import typing as t

import flask
from connexion import context

from server.errors import ApiError
from server.settings import current
from storage import windows
from storage.loup import RateWindow

# "admin" keys read everything their own account owns.
_IMPLIED_BY_ADMIN = {"read:installs", "read:usage", "read:payouts"}


def _limit(bucket: str, limit: int) -> dict[str, str]:
    decision = windows.hit(RateWindow, bucket, limit, current().loup_rate_window_seconds)
    if not decision.allowed:
        raise ApiError(
            429,
            "RATE_LIMITED",
            "rate limit exceeded",
            headers=decision.headers(),
            retry_after_seconds=decision.retry_after,
        )
    return decision.headers()


def creator(scope: str | None = None) -> tuple[dict[str, t.Any], dict[str, str]]:
    """The creator principal and the rate-limit headers; 403 when the key lacks `scope`."""
    info = context.context["token_info"]
    headers = _limit(f"key:{info['key_id']}", current().loup_rate_limit_key)
    scopes = set(info["scopes"])
    if scope and scope not in scopes and not ("admin" in scopes and scope in _IMPLIED_BY_ADMIN):
        raise ApiError(
            403, "INSUFFICIENT_SCOPE", f"this API key lacks the {scope} scope", headers=headers
        )
    return info, headers


def install() -> tuple[dict[str, t.Any], dict[str, str]]:
    """The install-token principal and the rate-limit headers."""
    info = context.context["token_info"]
    return info, _limit(f"token:{info['token_id']}", current().loup_rate_limit_token)


def anonymous() -> dict[str, str]:
    """Rate-limit headers for a public route, counted per client address."""
    return _limit(f"addr:{flask.request.remote_addr or '-'}", current().loup_rate_limit_search)
