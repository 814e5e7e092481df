"""lithtrix: the two security schemes. Each runs on the event loop, so each is one read.

* BearerAuth: `Authorization: Bearer ltx_...`; the key is looked up by its SHA-256 and compared
  in constant time. Unknown, malformed or rotated-away keys are 401 INVALID_API_KEY;
  suspended agents are 403 AGENT_SUSPENDED on every authenticated route.
* AdminKey: `X-Admin-Key`, compared in constant time with LITHTRIX_ADMIN_API_KEY. With no admin
  key configured the admin API refuses everyone (401 ADMIN_DISABLED).
"""

from __future__ import annotations

import hmac

from handlers.lithtrix import agents
from server.errors import ApiError
from server.settings import current

INVALID_KEY = "Invalid or missing API key. Register at POST /v1/register to get an ltx_ key."


def bearer_auth(token: str, required_scopes: list[str] | None = None) -> dict:
    """The agent behind an `ltx_` key: {agent_id, key_hash, agent (the row as just read)}."""
    agent = agents.by_key(token)
    if agent is None:
        raise ApiError(401, "INVALID_API_KEY", INVALID_KEY)
    if agent.status != "active":
        raise ApiError(403, "AGENT_SUSPENDED", "This agent is suspended. Contact the operator.")
    return {"agent_id": agent.id, "key_hash": agent.key_hash, "agent": agent}


def admin_key(api_key: str, required_scopes: list[str] | None = None) -> dict:
    configured = current().lithtrix_admin_api_key
    if not configured:
        raise ApiError(401, "ADMIN_DISABLED", "The admin API is disabled: no admin key is configured.")
    if not hmac.compare_digest(api_key.encode(), configured.encode()):
        raise ApiError(401, "INVALID_ADMIN_KEY", "Invalid admin key.")
    return {"admin": True}
