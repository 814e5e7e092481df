"""lithtrix: GET /v1/me, the authenticated agent's profile."""

from __future__ import annotations

from generated.lithtrix.models import MeResponse
from handlers.lithtrix import access, agents


def read_me_v1_me_get() -> dict:
    agent = access.agent()
    return MeResponse(
        agent_id=agent.id,
        agent_name=agent.agent_name,
        owner_identifier=agent.owner_identifier,
        tier=agent.tier,
        monthly_limit=agent.call_limit,
        status=agent.status,
        created_at=agents.iso(agent.created_at),
    ).model_dump(mode="json")
