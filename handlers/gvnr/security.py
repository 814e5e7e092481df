"""gvnr: handlers for security scheme operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("bearerAuth", security=True)
def bearer_auth(token=None, required_scopes=None, api_key=None):
    """Verifies the `bearerAuth` security scheme (scaffold: refuses every credential with 401)."""
