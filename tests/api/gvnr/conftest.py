"""Gvnr API test fixtures: the real app of all five APIs on a temp SQLite file, and accounts
minted with the same provisioning function POST /v1/account and the admin command use.

    def test_something(api, account):
        r = api.get(f"{P}/v1/account/balance", headers=account.headers)

`make_account(ops=...)` mints more (another tenant, an empty quota, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from handlers.gvnr import provisioning
from server.settings import Settings

P = "/gvnr"  # where Gvnr is mounted when all five APIs share the server


@dataclass(frozen=True)
class Account:
    id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def gvnr_settings(settings: Settings) -> Settings:
    # A generous provisioning cap, so only the tests that lower it ever see a 429.
    return settings.replace(gvnr_account_limit_per_ip=10_000)


@pytest.fixture
def api(make_client, gvnr_settings: Settings):
    return make_client(gvnr_account_limit_per_ip=gvnr_settings.gvnr_account_limit_per_ip)


@pytest.fixture
def make_account(api):
    """Mint an account directly (no HTTP, no provisioning cap): make_account(ops=1000)."""

    def make(ops: int = 1000, notification_email: str | None = None) -> Account:
        row, key = provisioning.create_account(ops=ops, notification_email=notification_email)
        return Account(row.id, key)

    return make


@pytest.fixture
def account(make_account) -> Account:
    return make_account()


@pytest.fixture
def other(make_account) -> Account:
    """A second tenant, for isolation checks."""
    return make_account()
