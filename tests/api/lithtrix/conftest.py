"""Lithtrix API fixtures: the app (all five APIs, Lithtrix at /lithtrix), agents registered
through the real endpoint, and the third-party stand-ins (Brave, Stripe, redis-server)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from storage import db
from storage.lithtrix import Agent, UsageLog
from tests.api.lithtrix.standins import BraveStandin, RedisServer, StripeStandin

P = "/lithtrix"
ADMIN_KEY = "admin-test-key-0123456789"


@dataclass
class Registered:
    agent_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def register(client, name: str = "research-agent", owner: str = "owner@example.com") -> Registered:
    r = client.post(f"{P}/v1/register", json={"agent_name": name, "owner_identifier": owner})
    assert r.status_code == 200, r.text
    return Registered(r.json()["agent_id"], r.json()["api_key"])


def set_agent(agent_id: str, **columns) -> None:
    """Test set-up straight in the database (tiers, counters) where no endpoint sets them."""
    with db.database.connection_context(), db.write():
        Agent.update(**columns).where(Agent.id == agent_id).execute()


def agent_row(agent_id: str) -> Agent:
    with db.database.connection_context():
        return Agent.get_by_id(agent_id)


def backdate_usage(agent_id: str, day: dt.date, calls: int) -> None:
    rows = [{"agent": agent_id, "day": day, "query": "older", "num_results": 10} for _ in range(calls)]
    with db.database.connection_context(), db.write():
        UsageLog.insert_many(rows).execute()


@pytest.fixture
def make_api(make_client):
    """The app with Lithtrix settings changed (the admin key is always configured)."""

    def build(**changes):
        return make_client(**{"lithtrix_admin_api_key": ADMIN_KEY, **changes})

    return build


@pytest.fixture
def api(make_api):
    return make_api()


@pytest.fixture
def agent(api) -> Registered:
    return register(api)


@pytest.fixture
def brave():
    standin = BraveStandin().start()
    yield standin
    standin.stop()


@pytest.fixture
def brave_api(make_api, brave):
    return make_api(lithtrix_search_provider="brave", lithtrix_brave_api_key=brave.token,
                    lithtrix_brave_base_url=brave.url)


@pytest.fixture
def stripe_server():
    standin = StripeStandin().start()
    yield standin
    standin.stop()


@pytest.fixture
def billing_api(make_api, stripe_server):
    return make_api(
        lithtrix_stripe_secret_key=stripe_server.secret_key,
        lithtrix_stripe_publishable_key="pk_test_lithtrix",
        lithtrix_stripe_api_base=stripe_server.url,
        lithtrix_stripe_max_retries=0,
        lithtrix_stripe_webhook_secret="whsec_test_lithtrix",
    )


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.client.flushall()
    return redis_server.url
