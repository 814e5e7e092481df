"""loopat: handlers for auth operations (see specs/loopat.json): the web login that sets the
`loopat_session` cookie, and logout. Served at <mount>/api/auth/... (the paths' own `servers`).

The cookie is HttpOnly, SameSite=Lax, with a Max-Age of LOOPAT_SESSION_DAYS (30, upstream's
auth.ts), Secure over HTTPS (or always with LOOPAT_COOKIE_SECURE), and scoped to the API's
mount (`/api`, or `/loopat/api` when all five APIs share the server) so it reaches both the
v1 routes and logout. Only its SHA-256 is stored.
"""

from __future__ import annotations

import flask

from handlers.loopat import accounts
from handlers.loopat.security import COOKIE
from server.errors import ApiError
from server.settings import current


def post_auth_login(body: dict) -> flask.Response:
    """POST /api/auth/login: check the password (argon2id), start a session, set the cookie."""
    user = accounts.authenticate(body["username"], body["password"])
    if user is None:
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    days = current().loopat_session_days
    session, secret = accounts.create_session(user.username, days)
    response = flask.jsonify({"username": user.username,
                              "expires_at": session.expires_at.isoformat().replace("+00:00", "Z")})
    response.set_cookie(COOKIE, secret, max_age=int(days * 86400), expires=session.expires_at, path=_cookie_path(),
                        secure=_secure(), httponly=True, samesite="Lax")
    return response


def post_auth_logout() -> flask.Response:
    """POST /api/auth/logout: end the cookie's session (if any) and clear the cookie; 204."""
    secret = flask.request.cookies.get(COOKIE)
    if secret:
        accounts.end_session(secret)
    response = flask.Response(status=204, mimetype="application/json")
    response.delete_cookie(COOKIE, path=_cookie_path(), secure=_secure(), httponly=True, samesite="Lax")
    return response


def _cookie_path() -> str:
    """The mount's /api (the parent of both /api/auth and /api/v1)."""
    return flask.request.path.rsplit("/auth/", 1)[0] or "/"


def _secure() -> bool:
    return current().loopat_cookie_secure or flask.request.scheme == "https"
