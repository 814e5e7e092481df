"""Fixed-window counters kept in the database, so every worker process shares them: the one
implementation behind each API's rate limits (Loup's per-credential limits, LoopKit's
provision and recover limits, Lithtrix's per-agent search limit, Gvnr's own operation limits).

Each API keeps its own table, a subclass of `WindowTable`. One statement counts a hit: an upsert
that creates the window's row or bumps its count and returns the new count
(INSERT ... ON CONFLICT DO UPDATE ... RETURNING). Never a read-modify-write in Python, so the
count is exact across threads and processes. Refused hits count too, so hammering a spent
window does not reopen it early.
"""

from __future__ import annotations

import math
import time
import typing as t
from dataclasses import dataclass

import peewee

from storage import db
from storage.base import BaseModel, utcnow


class WindowTable(BaseModel):
    """One fixed window of one bucket (a credential, a client address, an agent): a counter.
    Windows of different lengths may share a table, so each row carries its own end."""

    # Not indexed (unlike other tables): a hit on the hot path writes no extra B-tree.
    created_at = peewee.DateTimeField(default=utcnow)
    bucket = peewee.CharField()
    window_start = peewee.BigIntegerField()  # unix seconds
    ends_at = peewee.BigIntegerField(default=0)  # unix seconds; 0 on rows from before this column
    count = peewee.IntegerField(default=0)

    class Meta:
        primary_key = peewee.CompositeKey("bucket", "window_start")
        indexes = ((("ends_at",), False),)  # pruning ended windows


@dataclass(frozen=True)
class Tally:
    """A window's count after one hit, and what it means for that hit."""

    count: int
    limit: int
    seconds_left: float  # until the window ends

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def reset(self) -> int:
        """Whole seconds until the window ends (at least 1)."""
        return max(1, math.ceil(self.seconds_left))

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before retrying; 0 when this hit was allowed."""
        return 0 if self.allowed else self.reset

    @property
    def retry_after_ms(self) -> int:
        return 0 if self.allowed else max(1, int(self.seconds_left * 1000))

    def headers(self, *, with_reset: bool = False) -> dict[str, str]:
        """X-RateLimit-Limit/-Remaining (and -Reset if asked), plus Retry-After when refused."""
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if with_reset:
            headers["X-RateLimit-Reset"] = str(self.reset)
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


@dataclass(frozen=True)
class Hit:
    """The statements of one hit, built before any transaction (Python work stays out of the
    write lock); `run()` executes them inside the caller's write transaction."""

    limit: int
    seconds_left: float
    upsert: t.Any
    prune: t.Any

    def run(self) -> Tally:
        count = next(iter(self.upsert.execute())).count
        if count == 1:
            # The first hit of a new window drops every ended window (an indexed range
            # delete), so idle buckets do not pile up rows.
            self.prune.execute()
        return Tally(count, self.limit, self.seconds_left)


def prepare(table: type[WindowTable], bucket: str, limit: int, window_seconds: int,
            now: float | None = None) -> Hit:
    now = time.time() if now is None else now
    start = int(now // window_seconds) * window_seconds
    upsert = (
        table.insert(bucket=bucket, window_start=start, ends_at=start + window_seconds, count=1)
        .on_conflict(conflict_target=[table.bucket, table.window_start], update={table.count: table.count + 1})
        .returning(table.count)
    )
    return Hit(limit, start + window_seconds - now, upsert, table.delete().where(table.ends_at <= now))


def hit(table: type[WindowTable], bucket: str, limit: int, window_seconds: int,
        now: float | None = None) -> Tally:
    """Count one hit against `bucket` in its current window and decide (its own transaction)."""
    counting = prepare(table, bucket, limit, window_seconds, now)
    with db.write():
        return counting.run()
