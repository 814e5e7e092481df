"""The provider circuit breaker: opens after N consecutive failures, one half-open trial."""

from __future__ import annotations

import pytest

from handlers.lithtrix.circuit import Breaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_only():
    breaker = Breaker(3, 60, Clock())
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
    breaker.before_call()
    breaker.succeeded()  # a success resets the run
    for _ in range(2):
        breaker.before_call()
        breaker.failed()
    assert breaker.state == "closed"
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as info:
        breaker.before_call()
    assert info.value.retry_after == 60


def test_half_open_lets_one_trial_through():
    clock = Clock()
    breaker = Breaker(1, 60, clock)
    breaker.failed()
    clock.now += 59
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 1
    assert breaker.state == "half_open"
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # nobody else while it runs
    breaker.succeeded()
    assert breaker.state == "closed"
    breaker.before_call()


def test_a_failed_trial_reopens_for_a_full_period():
    clock = Clock()
    breaker = Breaker(5, 60, clock)
    for _ in range(5):
        breaker.failed()
    clock.now += 61
    breaker.before_call()
    breaker.failed()
    assert breaker.state == "open"
    clock.now += 30
    with pytest.raises(CircuitOpen) as info:
        breaker.before_call()
    assert info.value.retry_after == 30
