"""The fixed-window counters behind every API's rate limits (storage/windows.py), on a real
SQLite file; exactness across threads here, across worker processes in each API's e2e tests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from storage import db, windows
from storage.gvnr import LimitWindow
from storage.loup import RateWindow


def test_a_window_counts_exactly_then_starts_over(database):
    now = 960_000.0  # a window boundary for a 60 s window
    tallies = [windows.hit(RateWindow, "key:a", 3, 60, now=now + i) for i in range(4)]
    assert [t.allowed for t in tallies] == [True, True, True, False]
    assert [t.remaining for t in tallies] == [2, 1, 0, 0]
    assert [t.retry_after for t in tallies] == [0, 0, 0, 57]
    assert tallies[-1].retry_after_ms == 57_000
    assert windows.hit(RateWindow, "key:b", 3, 60, now=now).remaining == 2  # buckets are independent
    fresh = windows.hit(RateWindow, "key:a", 3, 60, now=now + 60)
    assert fresh.allowed and fresh.remaining == 2
    # The new window dropped every ended window, of this bucket and of idle ones.
    rows = RateWindow.select().order_by(RateWindow.bucket)
    assert [(w.bucket, w.window_start, w.count) for w in rows] == [("key:a", 960_060, 1)]


def test_retry_after_rounds_up_to_the_window_end(database):
    first = [windows.hit(LimitWindow, "t:a", 2, 60, now=120.5) for _ in range(3)]
    assert [t.allowed for t in first] == [True, True, False]
    assert first[2].retry_after_ms == 59_500 and first[2].retry_after == 60  # the end of [120, 180)
    assert windows.hit(LimitWindow, "t:a", 2, 60, now=180.0).allowed


def test_headers_say_the_limit_what_is_left_and_when_to_retry(database):
    allowed = windows.hit(RateWindow, "k", 1, 60, now=30.0)
    assert allowed.headers() == {"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0"}
    refused = windows.hit(RateWindow, "k", 1, 60, now=30.0)
    assert refused.headers() == {"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0", "Retry-After": "30"}
    assert refused.headers(with_reset=True)["X-RateLimit-Reset"] == "30"
    assert allowed.headers(with_reset=True)["X-RateLimit-Reset"] == "30"


def test_ended_windows_are_pruned_but_longer_ones_kept(database):
    windows.hit(LimitWindow, "hour:x", 10, 3600, now=3600)  # [3600, 7200)
    windows.hit(LimitWindow, "minute:y", 10, 60, now=3600)  # [3600, 3660)
    windows.hit(LimitWindow, "minute:y", 10, 60, now=3700)  # new minute window: prunes the ended minute
    buckets = sorted((w.bucket, w.window_start) for w in LimitWindow.select())
    assert buckets == [("hour:x", 3600), ("minute:y", 3660)]


def test_concurrent_hits_hand_out_each_count_once(database):
    def attempt(_: int) -> int:
        with db.database.connection_context():
            return windows.hit(RateWindow, "busy", 25, 3600, now=7200.0).count

    with ThreadPoolExecutor(12) as pool:
        counts = list(pool.map(attempt, range(60)))
    assert sorted(counts) == list(range(1, 61))
    assert RateWindow.get(RateWindow.bucket == "busy").count == 60
