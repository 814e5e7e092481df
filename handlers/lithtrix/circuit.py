"""A circuit breaker around the search provider, as Lithtrix runs one around Brave: after
`failures` consecutive failures it opens and every search answers 503 SERVICE_UNAVAILABLE at
once for `open_seconds`; then one trial call is let through (half-open): success closes it,
failure opens it again.

State is per worker process (each worker learns of an outage from its own calls); that only
changes how many failed calls reach the upstream before every worker stops calling it.
"""

from __future__ import annotations

import threading
import time
import typing as t


class CircuitOpen(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("search provider circuit is open")
        self.retry_after = retry_after


class Breaker:
    def __init__(self, failures: int, open_seconds: float, clock: t.Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, failures)
        self.open_seconds = open_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at < self.open_seconds:
            return "open"
        return "half_open"

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go to the provider now."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._trial_running:
                self._trial_running = True  # exactly one trial call at a time
                return
            assert self._opened_at is not None
            raise CircuitOpen(max(1.0, self.open_seconds - (self.clock() - self._opened_at)))

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.threshold:
                self._opened_at = self.clock()
            self._trial_running = False
