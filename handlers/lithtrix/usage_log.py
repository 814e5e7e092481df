"""Reading the usage log: calls per agent per UTC day, month and lifetime.

Every counted search is one `lithtrix_usage_log` row carrying its UTC date (`day`), indexed
with the agent; months are calendar months in UTC (reset at 00:00 UTC on the 1st) and the
daily breakdown is the last seven UTC days, today included, oldest first, zero-filled.
"""

from __future__ import annotations

import datetime as dt

from peewee import fn

from storage.lithtrix import UsageLog

BREAKDOWN_DAYS = 7


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def calls_since(agent_id: str, first_day: dt.date) -> int:
    return UsageLog.select().where((UsageLog.agent == agent_id) & (UsageLog.day >= first_day)).count()


def calls_this_month(agent_id: str, day: dt.date | None = None) -> int:
    return calls_since(agent_id, month_start(day or today()))


def daily_breakdown(agent_id: str, day: dt.date | None = None, days: int = BREAKDOWN_DAYS) -> list[dict]:
    """[{date: "YYYY-MM-DD", calls}] for the `days` UTC days ending with `day`, oldest first."""
    last = day or today()
    first = last - dt.timedelta(days=days - 1)
    counts = {
        _as_date(row.day): row.calls
        for row in UsageLog.select(UsageLog.day, fn.COUNT(UsageLog.id).alias("calls"))
        .where((UsageLog.agent == agent_id) & (UsageLog.day >= first) & (UsageLog.day <= last))
        .group_by(UsageLog.day)
    }
    return [
        {"date": (first + dt.timedelta(days=i)).isoformat(), "calls": counts.get(first + dt.timedelta(days=i), 0)}
        for i in range(days)
    ]


def monthly_counts(agent_ids: list[str], day: dt.date | None = None) -> dict[str, int]:
    """Calls this UTC month for each of `agent_ids` (one grouped query)."""
    if not agent_ids:
        return {}
    rows = (
        UsageLog.select(UsageLog.agent, fn.COUNT(UsageLog.id).alias("calls"))
        .where(UsageLog.agent.in_(agent_ids) & (UsageLog.day >= month_start(day or today())))
        .group_by(UsageLog.agent)
    )
    return {row.agent_id: row.calls for row in rows}


def platform_calls(first_day: dt.date, last_day: dt.date | None = None) -> int:
    """Every agent's calls from `first_day` (to `last_day` when given), for admin stats."""
    query = UsageLog.select().where(UsageLog.day >= first_day)
    if last_day is not None:
        query = query.where(UsageLog.day <= last_day)
    return query.count()


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
