"""lithtrix: GET /v1/usage, calls this UTC month, quota left and the last seven UTC days."""

from __future__ import annotations

from generated.lithtrix.models import DailyBreakdownItem, UsageStatsResponse
from handlers.lithtrix import access, quota, usage_log


def read_usage_v1_usage_get() -> dict:
    agent = access.agent()
    day = usage_log.today()
    return UsageStatsResponse(
        calls_this_month=usage_log.calls_this_month(agent.id, day),
        calls_remaining=quota.usage_of(agent).calls_remaining,
        monthly_limit=agent.call_limit,
        daily_breakdown=[DailyBreakdownItem(**row) for row in usage_log.daily_breakdown(agent.id, day)],
    ).model_dump(mode="json")
