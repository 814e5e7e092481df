"""The lifetime quota and the per-minute windows: single statements, exact under threads."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from handlers.lithtrix import agents, quota, ratelimit
from server.settings import Settings
from storage import db
from storage.lithtrix import Agent, RateWindow, UsageLog

DAY = dt.date(2026, 3, 14)


def _agent(limit: int = 5, tier: str = "free") -> str:
    agent, _ = agents.register(Settings().replace(lithtrix_free_call_limit=limit), f"a{limit}{tier}", "owner")
    Agent.update(tier=tier).where(Agent.id == agent.id).execute()
    return agent.id


def test_usage_arithmetic():
    free = quota.Usage("free", 298, 300)
    assert (free.limit, free.calls_remaining, free.over_limit) == (300, 2, False)
    assert quota.Usage("free", 300, 300).over_limit and quota.Usage("free", 300, 300).calls_remaining == 0
    pro = quota.Usage("pro", 10_000, 300)
    assert (pro.limit, pro.calls_remaining, pro.over_limit) == (None, None, False)
    assert pro.info().model_dump()["calls_remaining"] is None


def test_reserve_counts_logs_and_stops_at_the_cap(database):
    agent_id = _agent(limit=2)
    first = quota.reserve(agent_id, "q", 10, cached=False, day=DAY)
    second = quota.reserve(agent_id, "q", 10, cached=True, day=DAY)
    assert (first.usage.calls_total, second.usage.calls_total) == (1, 2)
    assert quota.reserve(agent_id, "q", 10, cached=False, day=DAY) is None
    assert [(r.cached, r.day) for r in UsageLog.select().order_by(UsageLog.id)] == [(False, DAY), (True, DAY)]


def test_refund_gives_the_call_back(database):
    agent_id = _agent(limit=1)
    reservation = quota.reserve(agent_id, "q", 10, cached=False, day=DAY)
    quota.refund(agent_id, reservation)
    assert Agent.get_by_id(agent_id).calls_total == 0 and UsageLog.select().count() == 0
    assert quota.reserve(agent_id, "q", 10, cached=False, day=DAY) is not None


def test_suspended_agents_reserve_nothing(database):
    agent_id = _agent()
    agents.set_status(agent_id, "suspended")
    assert quota.reserve(agent_id, "q", 10, cached=False, day=DAY) is None


def test_threads_racing_at_the_cap_get_each_count_once(tmp_path):
    db.bind(f"sqlite:///{tmp_path / 'race.sqlite3'}")
    from storage import all_models

    db.init_schema(all_models())
    with db.database.connection_context():
        agent_id = _agent(limit=25)

    def attempt(_):
        with db.database.connection_context():
            got = quota.reserve(agent_id, "q", 10, cached=False, day=DAY)
            return got.usage.calls_total if got else None

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(attempt, range(60)))
    assert sorted(r for r in results if r is not None) == list(range(1, 26))
    with db.database.connection_context():
        assert Agent.get_by_id(agent_id).calls_total == 25 and UsageLog.select().count() == 25


def test_windows_count_exactly_and_reset(database):
    agent_id = _agent()
    now = 1_700_000_010.0
    decisions = [ratelimit.hit(agent_id, 3, 60, 100, now=now) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].headers()["Retry-After"] == str(decisions[-1].reset) and 1 <= decisions[-1].reset <= 60
    assert "Retry-After" not in decisions[0].headers()
    later = ratelimit.hit(agent_id, 3, 60, 100, now=now + 60)
    assert later.allowed and later.remaining == 2
    assert RateWindow.select().count() == 1  # the ended window was pruned


def test_hammering_past_the_limit_sets_the_abuse_flag_once(database):
    agent_id = _agent()
    now = 1_700_000_000.0
    flagged = [ratelimit.hit(agent_id, 2, 60, 3, now=now).flagged for _ in range(8)]
    assert flagged == [False, False, False, False, True, False, False, False]
    assert Agent.get_by_id(agent_id).flagged is True
