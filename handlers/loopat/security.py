"""loopat: the two ways to authenticate, both resolving to one username (upstream's
`resolveCaller`). Each is one indexed read on the event loop; the principal dict comes back
as connexion's `token_info` (`sub` is the username).

Upstream tries the session cookie first, so a request carrying both a live cookie and a
token acts as the cookie's user; `bearer_auth` honours that. Every failure is upstream's
single 401 code, `missing_credentials`.
"""

from __future__ import annotations

import http.cookies

from handlers.loopat import accounts, token_touch
from server.errors import ApiError

COOKIE = "loopat_session"


def bearer_auth(token: str, required_scopes: list[str] | None = None, request=None) -> dict:  # noqa: ANN001
    """`Authorization: Bearer la_...` (a live session cookie on the same request wins)."""
    cookie = _cookie(request)
    if cookie:
        principal = accounts.resolve_session(cookie)
        if principal is not None:
            return principal.as_token_info()
    principal = accounts.resolve_token(token)
    if principal is None:
        raise ApiError(401, "missing_credentials", "invalid or revoked API token")
    token_touch.record(principal.credential_id, principal.last_used_at)
    return principal.as_token_info()


def cookie_auth(api_key: str, required_scopes: list[str] | None = None) -> dict:
    """The `loopat_session` cookie set by POST /api/auth/login."""
    principal = accounts.resolve_session(api_key)
    if principal is None:
        raise ApiError(401, "missing_credentials", "session expired or unknown; log in again")
    return principal.as_token_info()


def _cookie(request) -> str | None:  # noqa: ANN001 - connexion's request
    raw = request.headers.get("cookie") if request is not None else None
    if not raw or COOKIE not in raw:
        return None
    jar = http.cookies.SimpleCookie()
    try:
        jar.load(raw)
    except http.cookies.CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None
