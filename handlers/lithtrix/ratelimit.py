"""Per-agent search rate limits (60 a minute on free, 600 on pro by default): the shared fixed
windows of storage/windows.py, plus Lithtrix's abuse flag.

The search handler runs the count in the same transaction as the quota reservation. Over the
limit the search answers 429 RATE_LIMIT_EXCEEDED with Retry-After. An agent that keeps calling
after its 429s (LITHTRIX_ABUSE_THRESHOLD refused calls in one window) gets its abuse flag set,
which admin stats report as flagged.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from storage import db, windows
from storage.lithtrix import Agent, RateWindow


@dataclass(frozen=True)
class Decision:
    tally: windows.Tally
    flagged: bool  # this call set the agent's abuse flag

    @property
    def allowed(self) -> bool:
        return self.tally.allowed

    @property
    def remaining(self) -> int:
        return self.tally.remaining

    @property
    def reset(self) -> int:
        return self.tally.reset

    def headers(self) -> dict[str, str]:
        return self.tally.headers(with_reset=True)


@dataclass(frozen=True)
class Counting:
    """The statements of one search's hit, built before any transaction; `run()` executes them
    inside the caller's write transaction."""

    hit: windows.Hit
    abuse_at: int
    flag: t.Any

    def run(self) -> Decision:
        tally = self.hit.run()
        if tally.count == self.abuse_at:  # exactly one call crosses the threshold
            self.flag.execute()
        return Decision(tally, flagged=tally.count == self.abuse_at)


def prepare(agent_id: str, limit: int, window: int, abuse_threshold: int, now: float | None = None) -> Counting:
    return Counting(
        hit=windows.prepare(RateWindow, agent_id, limit, window, now),
        abuse_at=limit + max(1, abuse_threshold),
        flag=Agent.update(flagged=True).where(Agent.id == agent_id),
    )


def hit(agent_id: str, limit: int, window: int, abuse_threshold: int, now: float | None = None) -> Decision:
    """Count one search of `agent_id` in the current window and decide (its own transaction)."""
    counting = prepare(agent_id, limit, window, abuse_threshold, now)
    with db.write():
        return counting.run()
