"""Fixed-window rate limits kept in the database, so every worker process shares them.

One statement per request: an upsert that creates the window's row or bumps its counter
and returns the new count (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING`). Never a
read-modify-write in Python, so the count is exact across threads and processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from storage import db
from storage.loup import RateWindow


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def window_start(now: float, window: int) -> int:
    return int(now // window) * window


def hit(bucket: str, limit: int, window: int, now: float | None = None) -> Decision:
    """Count one request against `bucket` in the current window and decide."""
    now = time.time() if now is None else now
    start = window_start(now, window)
    upsert = (
        RateWindow.insert(bucket=bucket, window_start=start, count=1)
        .on_conflict(
            conflict_target=[RateWindow.bucket, RateWindow.window_start],
            update={RateWindow.count: RateWindow.count + 1},
        )
        .returning(RateWindow.count)
    )
    # Ended windows are dead weight: the first hit of any bucket's new window drops every
    # ended window (an indexed range delete), so idle buckets do not accumulate rows.
    prune = RateWindow.delete().where(RateWindow.window_start < start)
    with db.write():
        count = next(iter(upsert.execute())).count
        if count == 1:
            prune.execute()
    allowed = count <= limit
    return Decision(
        allowed=allowed,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after=0 if allowed else max(1, math.ceil(start + window - now)),
    )
