"""lithtrix: POST /v1/register, self-registration of an agent."""

from __future__ import annotations

from generated.lithtrix.models import RegisterRequest
from handlers.lithtrix import agents
from server.errors import ApiError
from server.oas31 import RequestValidationProblem, Violation
from server.settings import current

STORE_KEY = "Store this API key securely. It cannot be retrieved again."


def register_agent_v1_register_post(body: dict) -> tuple[dict, int]:
    """A new free-tier agent and its one-time `ltx_` key; 409 for a known name + owner pair."""
    name = body["agent_name"]
    if not agents.NAME.fullmatch(name):
        # JSON Schema's `$` (Python's) also matches before a final newline; the service's does not.
        raise RequestValidationProblem([Violation(
            "body", ("agent_name",), "does not match the pattern", "pattern",
            instance=name, expected="^[a-zA-Z0-9_-]+$",
        )])
    request = RegisterRequest.model_validate(body)
    try:
        agent, key = agents.register(current(), request.agent_name, request.owner_identifier)
    except agents.AgentExists:
        raise ApiError(
            409, "AGENT_ALREADY_EXISTS", "An agent with this agent_name and owner_identifier already exists."
        ) from None
    return {"api_key": key, "agent_id": agent.id, "message": STORE_KEY}, 200
