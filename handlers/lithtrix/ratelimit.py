"""Per-agent search rate limits (60 a minute on free, 600 on pro by default), in fixed
windows kept in the database so every worker process shares them.

One upsert per search bumps the agent's counter for the current window and returns it
(`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so the count is exact across threads and
processes; the search handler runs it in the same transaction as the quota reservation.
Over the limit the search answers 429 RATE_LIMIT_EXCEEDED with Retry-After. An agent that keeps
calling after its 429s (LITHTRIX_ABUSE_THRESHOLD refused calls in one window) gets its abuse
flag set, which admin stats report as flagged.
"""

from __future__ import annotations

import math
import time
import typing as t
from dataclasses import dataclass

from storage import db
from storage.lithtrix import Agent, RateWindow


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends
    flagged: bool = False  # this call set the agent's abuse flag

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


@dataclass(frozen=True)
class Counting:
    """The statements of one hit, built before any transaction; `run()` executes them inside
    the caller's write transaction (so a search counts its window and its quota in one)."""

    limit: int
    reset: int
    abuse_at: int
    upsert: t.Any
    prune: t.Any
    flag: t.Any

    def run(self) -> Decision:
        count = next(iter(self.upsert.execute())).count
        if count == 1:
            self.prune.execute()  # the first hit of a new window drops every ended window
        if count == self.abuse_at:  # exactly one call crosses the threshold
            self.flag.execute()
        return Decision(allowed=count <= self.limit, limit=self.limit, remaining=max(0, self.limit - count),
                        reset=self.reset, flagged=count == self.abuse_at)


def prepare(agent_id: str, limit: int, window: int, abuse_threshold: int, now: float | None = None) -> Counting:
    now = time.time() if now is None else now
    start = int(now // window) * window
    upsert = (
        RateWindow.insert(agent_id=agent_id, window_start=start, count=1)
        .on_conflict(
            conflict_target=[RateWindow.agent_id, RateWindow.window_start],
            update={RateWindow.count: RateWindow.count + 1},
        )
        .returning(RateWindow.count)
    )
    return Counting(
        limit=limit,
        reset=max(1, math.ceil(start + window - now)),
        abuse_at=limit + max(1, abuse_threshold),
        upsert=upsert,
        prune=RateWindow.delete().where(RateWindow.window_start < start),
        flag=Agent.update(flagged=True).where(Agent.id == agent_id),
    )


def hit(agent_id: str, limit: int, window: int, abuse_threshold: int, now: float | None = None) -> Decision:
    """Count one search of `agent_id` in the current window and decide (its own transaction)."""
    counting = prepare(agent_id, limit, window, abuse_threshold, now)
    with db.write():
        return counting.run()
