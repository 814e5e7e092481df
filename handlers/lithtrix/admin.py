"""lithtrix: the operator's admin API (X-Admin-Key): agents with this month's calls, one agent
in detail, platform stats, suspend and reinstate. Months and days are UTC."""

from __future__ import annotations

from generated.lithtrix.models import AgentListItem, AgentsListResponse, StatsResponse, StatusActionResponse
from handlers.lithtrix import agents, usage_log
from server.errors import ApiError
from storage.lithtrix import Agent


def _not_found(agent_id: str) -> ApiError:
    return ApiError(404, "AGENT_NOT_FOUND", f"No agent with id {agent_id[:64]}.")


def list_agents_admin_agents_get(page: int = 1, page_size: int = 20) -> dict:
    """Newest first; a page past the end is empty (total still says how many there are)."""
    total = Agent.select().count()
    rows: list[Agent] = []
    if (page - 1) * page_size < total:  # also keeps huge page numbers away from SQL OFFSET
        rows = list(Agent.select().order_by(Agent.created_at.desc(), Agent.id).paginate(page, page_size))
    counts = usage_log.monthly_counts([a.id for a in rows])
    items = [
        AgentListItem(
            id=a.id, agent_name=a.agent_name, owner_identifier=a.owner_identifier, tier=a.tier,
            status=a.status, created_at=agents.iso(a.created_at), calls_this_month=counts.get(a.id, 0),
        )
        for a in rows
    ]
    return AgentsListResponse(agents=items, total=total, page=page, page_size=page_size).model_dump(mode="json")


def get_agent_detail_admin_agents_agent_id_get(agent_id: str) -> dict:
    """{agent: every column but the key digest, calls_this_month, daily_breakdown (7 UTC days)}."""
    agent = agents.get(agent_id)
    if agent is None:
        raise _not_found(agent_id)
    day = usage_log.today()
    return {
        "agent": agents.public_row(agent),
        "calls_this_month": usage_log.calls_this_month(agent.id, day),
        "daily_breakdown": usage_log.daily_breakdown(agent.id, day),
    }


def get_stats_admin_stats_get() -> dict:
    day = usage_log.today()
    return StatsResponse(
        total_agents=Agent.select().count(),
        active_agents=Agent.select().where(Agent.status == "active").count(),
        flagged_agents=Agent.select().where(Agent.flagged == True).count(),  # noqa: E712 - SQL
        calls_today=usage_log.platform_calls(day, day),
        calls_this_month=usage_log.platform_calls(usage_log.month_start(day)),
    ).model_dump(mode="json")


def _set_status(agent_id: str, status: str) -> dict:
    agent = agents.set_status(agent_id, status)
    if agent is None:
        raise _not_found(agent_id)
    return StatusActionResponse(agent_id=agent.id, new_status=agent.status).model_dump(mode="json")


def suspend_agent_admin_agents_agent_id_suspend_post(agent_id: str) -> dict:
    return _set_status(agent_id, "suspended")


def reinstate_agent_admin_agents_agent_id_reinstate_post(agent_id: str) -> dict:
    return _set_status(agent_id, "active")
