"""lithtrix: handlers for security scheme operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("BearerAuth", security=True)
def bearer_auth(token=None, required_scopes=None, api_key=None):
    """Verifies the `BearerAuth` security scheme (scaffold: refuses every credential with 401)."""


@scaffold("AdminKey", security=True)
def admin_key(token=None, required_scopes=None, api_key=None):
    """Verifies the `AdminKey` security scheme (scaffold: refuses every credential with 401)."""
