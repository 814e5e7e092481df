"""loopkit: the two bearer schemes. A key is looked up by its SHA-256 digest (one indexed read,
joined to its project) and compared in constant time; the principal comes back as connexion's
`token_info`: {kind, key_id, project_id, tenant_id, scopes}.

Producer keys only ingest and agent keys only read and diagnose. The other kind of key gets
401, the status the spec documents for both ("Producer/Agent authorization required").
"""

from __future__ import annotations

from handlers.loopkit.projects import authenticate
from server.errors import ApiError


def producer_key(token: str, required_scopes: list[str] | None = None) -> dict:
    principal = authenticate(token)
    if principal["kind"] != "producer":
        raise ApiError(401, "wrong_key_kind", "ingest needs the project's producer key (lk_ingest_...)")
    return principal


def agent_key(token: str, required_scopes: list[str] | None = None) -> dict:
    principal = authenticate(token)
    if principal["kind"] != "agent":
        raise ApiError(401, "wrong_key_kind", "this route needs the project's agent key (lk_agent_...)")
    return principal
