"""Fixed-window rate limits for LoopKit's public routes (provision mint, recover), kept in the
database so every worker process shares them.

One statement counts a request: an upsert that creates the window's row or bumps its count and
returns the new count. Never a read-modify-write in Python, so the count is exact across
threads and processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from server.errors import ApiError
from storage import db
from storage.loopkit import RateWindow


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window ends (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def hit(bucket: str, limit: int, window: int, now: float | None = None) -> Decision:
    """Count one request against `bucket` in the current window and decide."""
    now = time.time() if now is None else now
    start = int(now // window) * window
    upsert = (
        RateWindow.insert(bucket=bucket, window_start=start, count=1)
        .on_conflict(
            conflict_target=[RateWindow.bucket, RateWindow.window_start],
            update={RateWindow.count: RateWindow.count + 1},
        )
        .returning(RateWindow.count)
    )
    # The first hit of a new window drops every ended window (an indexed range delete).
    prune = RateWindow.delete().where(RateWindow.window_start < start)
    with db.write():
        count = next(iter(upsert.execute())).count
        if count == 1:
            prune.execute()
    allowed = count <= limit
    return Decision(allowed, limit, max(0, limit - count), 0 if allowed else max(1, math.ceil(start + window - now)))


def enforce(bucket: str, limit: int, window: int, what: str) -> dict[str, str]:
    """Count the request; 429 with Retry-After once the window is spent. Returns the headers."""
    decision = hit(bucket, limit, window)
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"{what} rate limit reached for your network; retry in {decision.retry_after} s",
            headers=decision.headers(),
            retry_after_seconds=decision.retry_after,
        )
    return decision.headers()
