"""loup: handlers for security scheme operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("BearerAuth")
def bearer_auth(token=None, required_scopes=None, api_key=None):
    """Verifies the `BearerAuth` security scheme (scaffold: refuses every credential)."""


@scaffold("InstallTokenAuth")
def install_token_auth(token=None, required_scopes=None, api_key=None):
    """Verifies the `InstallTokenAuth` security scheme (scaffold: refuses every credential)."""
