"""The lifetime call quota: free agents get `call_limit` counted searches (300 by default,
never reset), pro agents are unlimited.

The counter is `lithtrix_agent.calls_total`, moved only by one conditional UPDATE:
`calls_total + 1 WHERE tier = 'pro' OR calls_total < call_limit` (RETURNING the new value),
in the same short transaction as the search's usage-log row. Concurrent searches at the
boundary, in any number of worker processes, therefore hand out each count exactly once and
never pass the cap. A search whose provider then fails is refunded (counter - 1 and its log
row deleted, again in one transaction), so a failure costs the agent nothing.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from generated.lithtrix.models import UsageInfo
from storage import db
from storage.lithtrix import Agent, UsageLog

UPGRADE_URL = "/v1/billing/setup"


@dataclass(frozen=True)
class Usage:
    tier: str
    calls_total: int
    call_limit: int  # the stored free cap (kept while pro, where it does not apply)

    @property
    def limit(self) -> int | None:
        return None if self.tier == "pro" else self.call_limit

    @property
    def calls_remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.calls_total)

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.calls_total >= self.limit

    def info(self) -> UsageInfo:
        return UsageInfo(
            calls_total=self.calls_total,
            calls_remaining=self.calls_remaining,
            over_limit=self.over_limit,
            upgrade_url=UPGRADE_URL,
        )


def usage_of(agent: Agent) -> Usage:
    return Usage(tier=agent.tier, calls_total=agent.calls_total, call_limit=agent.call_limit)


@dataclass(frozen=True)
class Reservation:
    usage: Usage  # after this call was counted
    log_id: int


@dataclass(frozen=True)
class Reserving:
    """The statements of one reservation, built before any transaction; `run()` executes them
    inside the caller's write transaction and returns the Reservation, or None when refused."""

    bump: t.Any
    log: t.Any

    def run(self) -> Reservation | None:
        rows = list(self.bump.execute())
        if not rows:
            return None
        log_id = self.log.execute()
        row = rows[0]
        return Reservation(Usage(row.tier, row.calls_total, row.call_limit), log_id)


def prepare(agent_id: str, query: str, num_results: int, cached: bool, day: dt.date) -> Reserving:
    bump = (
        Agent.update(calls_total=Agent.calls_total + 1)
        .where(
            (Agent.id == agent_id)
            & (Agent.status == "active")
            & ((Agent.tier == "pro") | (Agent.calls_total < Agent.call_limit))
        )
        .returning(Agent.tier, Agent.calls_total, Agent.call_limit)
    )
    log = UsageLog.insert(agent=agent_id, day=day, query=query[:500], num_results=num_results, cached=cached)
    return Reserving(bump, log)


def reserve(agent_id: str, query: str, num_results: int, cached: bool, day: dt.date) -> Reservation | None:
    """Count one search (and log it) unless the agent's cap is reached; None when refused."""
    reserving = prepare(agent_id, query, num_results, cached, day)
    with db.write():
        return reserving.run()


def refund(agent_id: str, reservation: Reservation) -> None:
    """Undo a reservation whose search failed: nothing counted, nothing logged."""
    give_back = Agent.update(calls_total=Agent.calls_total - 1).where(Agent.id == agent_id)
    unlog = UsageLog.delete().where(UsageLog.id == reservation.log_id)
    with db.write():
        give_back.execute()
        unlog.execute()
