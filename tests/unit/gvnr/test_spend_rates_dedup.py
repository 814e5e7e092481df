"""Envelopes, clearance, reconcile, rate windows and idempotency keys as writer jobs on a real
SQLite file, with the clock passed in."""

from __future__ import annotations

import pytest

from handlers.gvnr import dedup, pricing, provisioning, rates, spend
from storage import writer
from storage.gvnr import Clearance, IdempotencyKey

DAY = spend.DAY_MS
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TTL = 86_400_000
SONNET = pricing.lookup("claude-sonnet-4-6")  # $15/1M output: 1000 tokens cost $0.015


@pytest.fixture
def acct(database):
    account, _ = provisioning.create_account(ops=100)
    return account.id


def ops(account: str) -> int:
    return writer.read(lambda c: c.execute("SELECT ops_remaining FROM gvnr_account WHERE id = ?",
                                           (account,)).fetchone()[0])


def clear(account, agent="a", tokens=1000, now=T0 + 1000, price=SONNET):
    return writer.call(spend.clear, account, agent, "claude-sonnet-4-6", price, tokens, TTL, now)


def test_clear_reasons_in_order(database):
    empty, _ = provisioning.create_account(ops=0)
    assert clear(empty.id) == spend.Clearance(False, 0, reason="no_credits")  # before the envelope check
    funded, _ = provisioning.create_account(ops=3)
    assert clear(funded.id) == spend.Clearance(False, 0, reason="no_envelope")
    writer.call(spend.set_envelope, funded.id, "a", pricing.to_nano(0.02), "daily", T0)
    assert clear(funded.id) == spend.Clearance(True, 5_000_000, operations_remaining=2)
    assert clear(funded.id) == spend.Clearance(False, 5_000_000, reason="envelope_exceeded")
    assert ops(funded.id) == 2  # denials cost nothing
    assert Clearance.select().where(Clearance.account == funded.id).count() == 1


def test_envelope_update_keeps_spend_and_reset(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1), "daily", T0 + 5)
    clear(acct)
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(2), "session", T0 + DAY + 5)
    e = writer.read(spend.get_envelope, acct, "a", T0 + 10)
    assert (e.limit_nano, e.spent_nano, e.window, e.reset_at) == (2 * 10**9, 15_000_000, "session", T0 + DAY)


def test_daily_window_resets_at_utc_midnight(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(0.02), "daily", T0 + 3600_000)
    assert clear(acct, now=T0 + 3600_000).approved
    assert not clear(acct, now=T0 + DAY - 1).approved  # still the same day
    seen = writer.read(spend.get_envelope, acct, "a", T0 + DAY)  # a read shows the reset too
    assert (seen.spent_nano, seen.reset_at) == (0, T0 + 2 * DAY)
    approved = clear(acct, now=T0 + DAY)
    assert approved.approved and approved.remaining_nano == 5_000_000


def test_session_window_never_resets(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(0.02), "session", T0)
    assert clear(acct, now=T0).approved
    assert not clear(acct, now=T0 + 30 * DAY).approved
    assert writer.read(spend.get_envelope, acct, "a", T0 + 30 * DAY).spent_nano == 15_000_000


def test_reconcile_settles_oldest_first_exactly_once(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1), "daily", T0)
    clear(acct, tokens=1000)  # estimate $0.015
    clear(acct, tokens=2000)  # estimate $0.030
    first = writer.call(spend.reconcile, acct, "a", 0, 2000, TTL, T0 + 2000)  # actual $0.030
    assert first.drift_nano == 15_000_000 and first.applied and first.warning is None
    second = writer.call(spend.reconcile, acct, "a", 1000, 100, TTL, T0 + 3000)  # $0.003 + $0.0015
    assert second.drift_nano == 4_500_000 - 30_000_000
    assert writer.read(spend.get_envelope, acct, "a", T0 + 4000).spent_nano == 30_000_000 + 4_500_000
    with pytest.raises(spend.NoPendingClearance):
        writer.call(spend.reconcile, acct, "a", 1, 1, TTL, T0 + 5000)
    assert second.operations_remaining == 98  # reconcile never touches the quota


def test_reconcile_warning_errors_and_other_agents(acct):
    with pytest.raises(spend.NoEnvelope):
        writer.call(spend.reconcile, acct, "a", 1, 1, TTL, T0)
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1), "daily", T0)
    writer.call(spend.set_envelope, acct, "b", pricing.to_nano(1), "daily", T0)
    clear(acct, agent="a", tokens=100)  # $0.0015
    with pytest.raises(spend.NoPendingClearance):  # b has no pending clearance of its own
        writer.call(spend.reconcile, acct, "b", 1, 1, TTL, T0 + 10)
    exact_double = writer.call(spend.reconcile, acct, "a", 0, 200, TTL, T0 + 20)
    assert exact_double.warning is None  # not strictly more than 2x
    clear(acct, agent="a", tokens=100)
    over = writer.call(spend.reconcile, acct, "a", 0, 201, TTL, T0 + 30)
    assert over.warning == "drift_exceeds_2x_threshold"


def test_reconcile_after_the_window_reset_does_not_touch_the_new_day(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1), "daily", T0)
    clear(acct, tokens=1000, now=T0 + DAY - 10)
    clear(acct, tokens=1000, now=T0 + DAY + 10)  # the new day: spent = $0.015
    late = writer.call(spend.reconcile, acct, "a", 0, 5000, TTL, T0 + DAY + 20)
    assert late.drift_nano == 60_000_000 and not late.applied
    assert writer.read(spend.get_envelope, acct, "a", T0 + DAY + 30).spent_nano == 15_000_000


def test_abandoned_clearances_are_skipped_and_purged(acct, monkeypatch):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1), "session", T0)
    clear(acct, now=T0)
    with pytest.raises(spend.NoPendingClearance):
        writer.call(spend.reconcile, acct, "a", 1, 1, TTL, T0 + TTL + 1)
    monkeypatch.setattr(spend, "PURGE_EVERY", 1)
    clear(acct, now=T0 + TTL + 2)
    assert [c.cleared_at for c in Clearance.select()] == [T0 + TTL + 2]


def test_huge_token_counts_stay_exact_integers(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1_000_000), "session", T0)
    assert clear(acct, tokens=10**30) == spend.Clearance(False, 10**15, reason="envelope_exceeded")
    clear(acct, tokens=1)
    big = writer.call(spend.reconcile, acct, "a", 10**30, 10**30, TTL, T0 + 1)
    assert big.drift_nano == spend.CAP and big.remaining_nano == 0
    assert isinstance(writer.read(spend.get_envelope, acct, "a", T0 + 2).spent_nano, int)


def test_delete_envelope_drops_pending(acct):
    writer.call(spend.set_envelope, acct, "a", pricing.to_nano(1), "daily", T0)
    clear(acct)
    writer.call(spend.delete_envelope, acct, "a")
    assert Clearance.select().count() == 0
    with pytest.raises(spend.NoEnvelope):
        writer.call(spend.delete_envelope, acct, "a")


def test_rate_window_is_fixed_and_anchored(acct):
    writer.call(rates.set_envelope, acct, "a", "openai", "gpt-4o", 2, T0)
    assert writer.call(rates.check, acct, "a", "openai", "gpt-4o", T0 + 10) == rates.RateDecision(True, 1)
    assert writer.call(rates.check, acct, "a", "openai", "gpt-4o", T0 + 20) == rates.RateDecision(True, 0)
    denied = writer.call(rates.check, acct, "a", "openai", "gpt-4o", T0 + 59_999)
    assert denied == rates.RateDecision(False, reason="rate_exceeded", retry_after_ms=1)
    state = writer.read(rates.get_envelope, acct, "a", "openai", "gpt-4o", T0 + 59_999)
    assert (state.requests_in_window, state.window_start) == (2, T0)  # the denial counted nothing
    # The next window opens at the first request after this one ended, not on the clock minute.
    assert writer.call(rates.check, acct, "a", "openai", "gpt-4o", T0 + 75_000) == rates.RateDecision(True, 1)
    assert writer.read(rates.get_envelope, acct, "a", "openai", "gpt-4o", T0 + 75_001).window_start == T0 + 75_000
    assert writer.read(rates.get_envelope, acct, "a", "openai", "gpt-4o", T0 + 135_000).requests_in_window == 0
    other = writer.call(rates.check, acct, "a", "openai", "gpt-4o-mini", T0)  # exact triples only
    assert other == rates.RateDecision(False, reason="no_rate_envelope")


def test_rate_put_resets_the_window(acct):
    writer.call(rates.set_envelope, acct, "a", "p", "m", 1, T0)
    writer.call(rates.check, acct, "a", "p", "m", T0 + 1)
    writer.call(rates.set_envelope, acct, "a", "p", "m", 3, T0 + 2)
    state = writer.read(rates.get_envelope, acct, "a", "p", "m", T0 + 3)
    assert (state.requests_per_minute, state.requests_in_window, state.window_start) == (3, 0, T0 + 2)


def test_idempotency_ttl_replay_expiry_and_purge(acct):
    assert writer.call(dedup.check, acct, "k", 10, T0) == dedup.KeyCheck(True, 10)
    assert writer.call(dedup.check, acct, "k", 3600, T0 + 2500) == dedup.KeyCheck(False, 8)  # stored TTL counts
    assert writer.call(dedup.check, acct, "k", 10, T0 + 9_999) == dedup.KeyCheck(False, 1)
    writer.call(dedup.check, acct, "other", 1, T0)
    assert writer.call(dedup.check, acct, "k", 10, T0 + 10_000) == dedup.KeyCheck(True, 10)  # expired: first again
    assert [k.key for k in IdempotencyKey.select()] == ["k"]  # "other" (expired) was purged
    owner2, _ = provisioning.create_account()
    assert writer.call(dedup.check, owner2.id, "k", 10, T0 + 10_001).is_first_call  # keys are per account
