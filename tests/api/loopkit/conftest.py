"""LoopKit's API fixtures: the real app on a temp SQLite file, and projects provisioned through
POST /v1/provision exactly as an agent would."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

P = "/loopkit"
# Generous limits so only the rate-limit tests (which lower them) ever see a 429.
HIGH_LIMITS = {"loopkit_provision_rate_limit": 100_000, "loopkit_recover_rate_limit": 100_000}


@dataclass
class Project:
    project_id: str
    producer_key: str
    agent_key: str
    recovery_code: str | None
    minted: dict

    @property
    def producer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.producer_key}"}

    @property
    def agent(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.agent_key}"}


@pytest.fixture
def lk(make_client):
    return make_client(**HIGH_LIMITS)


@pytest.fixture
def provision(lk):
    """provision("name", operator=None) -> Project (asserts the 201)."""

    def make(name: str, operator: str | None = None) -> Project:
        body = {"project_name": name, **({"operator": operator} if operator else {})}
        r = lk.post(f"{P}/v1/provision", json=body)
        assert r.status_code == 201, r.text
        data = r.json()
        return Project(data["project_id"], data["producer_key"], data["agent_key"], data["recovery_code"], data)

    return make


@pytest.fixture
def project(provision) -> Project:
    return provision("checkout-agent")
