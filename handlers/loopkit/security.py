"""loopkit: handlers for security scheme operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("producerKey", security=True)
def producer_key(token=None, required_scopes=None, api_key=None):
    """Verifies the `producerKey` security scheme (scaffold: refuses every credential with 401)."""


@scaffold("agentKey", security=True)
def agent_key(token=None, required_scopes=None, api_key=None):
    """Verifies the `agentKey` security scheme (scaffold: refuses every credential with 401)."""
