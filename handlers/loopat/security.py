"""loopat: handlers for security scheme operations (see specs/loopat.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("BearerAuth", security=True)
def bearer_auth(token=None, required_scopes=None, api_key=None):
    """Verifies the `BearerAuth` security scheme (scaffold: refuses every credential with 401)."""


@scaffold("CookieAuth", security=True)
def cookie_auth(token=None, required_scopes=None, api_key=None):
    """Verifies the `CookieAuth` security scheme (scaffold: refuses every credential with 401)."""
