"""LoopKit's limits on its public routes (provision mint, recover), per client address: the
shared fixed windows of storage/windows.py, answered in LoopKit's envelope."""

from __future__ import annotations

from server.errors import ApiError
from storage import windows
from storage.loopkit import RateWindow


def enforce(bucket: str, limit: int, window: int, what: str) -> dict[str, str]:
    """Count the request; 429 with Retry-After once the window is spent. Returns the headers."""
    tally = windows.hit(RateWindow, bucket, limit, window)
    if not tally.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"{what} rate limit reached for your network; retry in {tally.retry_after} s",
            headers=tally.headers(),
            retry_after_seconds=tally.retry_after,
        )
    return tally.headers()
