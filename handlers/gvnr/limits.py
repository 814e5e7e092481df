"""Fixed-window limits on the service's own operations (accounts per client address per hour,
approval requests per account per minute, ...), shared by every worker process.

One upsert per attempt counts it and returns the new count (INSERT ... ON CONFLICT DO UPDATE
... RETURNING): exact across threads and processes. Refused attempts count too, so hammering
a spent window does not reopen it early.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from storage import db
from storage.gvnr import LimitWindow


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_ms: int  # until the window ends (0 when allowed)


def hit(bucket: str, limit: int, window_seconds: int, now: float | None = None) -> Decision:
    """Count one attempt against `bucket` in the current window and decide."""
    now = time.time() if now is None else now
    start = int(now // window_seconds) * window_seconds
    upsert = (
        LimitWindow.insert(bucket=bucket, window_start=start, ends_at=start + window_seconds, count=1)
        .on_conflict(conflict_target=[LimitWindow.bucket, LimitWindow.window_start],
                     update={LimitWindow.count: LimitWindow.count + 1})
        .returning(LimitWindow.count)
    )
    # The first attempt of any new window drops every window that has ended (an indexed range
    # delete), so idle buckets do not pile up rows.
    prune = LimitWindow.delete().where(LimitWindow.ends_at <= now)
    with db.write():
        count = next(iter(upsert.execute())).count
        if count == 1:
            prune.execute()
    allowed = count <= limit
    retry_ms = max(1, int((start + window_seconds - now) * 1000)) if not allowed else 0
    return Decision(allowed, limit, max(0, limit - count), retry_ms)
