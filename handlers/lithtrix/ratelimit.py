"""Per-agent search rate limits (60 a minute on free, 600 on pro by default), in fixed
windows kept in the database so every worker process shares them.

One upsert per search bumps the agent's counter for the current window and returns it
(`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`), so the count is exact across threads and
processes. Over the limit the search answers 429 RATE_LIMIT_EXCEEDED with Retry-After. An agent
that keeps calling after its 429s (LITHTRIX_ABUSE_THRESHOLD refused calls in one window) gets
its abuse flag set, which admin stats report as flagged.
"""

from __future__ import annotations

import math
import time
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


def hit(agent_id: str, limit: int, window: int, abuse_threshold: int, now: float | None = None) -> Decision:
    """Count one search of `agent_id` in the current window and decide."""
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
    prune = RateWindow.delete().where(RateWindow.window_start < start)
    flag = Agent.update(flagged=True).where(Agent.id == agent_id)
    abuse_at = limit + max(1, abuse_threshold)
    with db.write():
        count = next(iter(upsert.execute())).count
        if count == 1:
            prune.execute()  # the first hit of a new window drops every ended window
        if count == abuse_at:  # exactly one call crosses the threshold
            flag.execute()
    reset = max(1, math.ceil(start + window - now))
    return Decision(
        allowed=count <= limit, limit=limit, remaining=max(0, limit - count), reset=reset,
        flagged=count == abuse_at,
    )
