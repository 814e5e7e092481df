"""Accounts: provisioning (trial quota, per-address cap), keys (format, hashed at rest, both
locations), the balance, and the notification email."""

from __future__ import annotations

import hashlib
import re
import sqlite3

from handlers.gvnr import quota
from tests.api.gvnr.conftest import P


def test_post_account_mints_key_and_trial_quota(api):
    r = api.post(f"{P}/v1/account")
    assert r.status_code == 201
    body = r.json()
    assert re.fullmatch(r"bg_[0-9a-f]{32}", body["api_key"])
    assert re.fullmatch(r"[0-9a-f-]{36}", body["account_id"])
    assert body["operations_remaining"] == 25
    headers = {"Authorization": f"Bearer {body['api_key']}"}
    assert api.get(f"{P}/v1/account/balance", headers=headers).json() == {"operations_remaining": 25}


def test_key_is_stored_only_as_sha256(api, settings):
    key = api.post(f"{P}/v1/account").json()["api_key"]
    database = settings.data_dir / "pentapi.sqlite3"
    dump = "\n".join(sqlite3.connect(database).iterdump())
    assert key not in dump
    assert hashlib.sha256(key.encode()).hexdigest() in dump


def test_trial_quota_is_a_setting(make_client):
    api = make_client(gvnr_signup_trial_ops=0)
    assert api.post(f"{P}/v1/account").json()["operations_remaining"] == 0


def test_provisioning_is_capped_per_address(make_client):
    api = make_client(gvnr_account_limit_per_ip=3, gvnr_account_limit_window_seconds=3600)
    codes = [api.post(f"{P}/v1/account").status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    r = api.post(f"{P}/v1/account")
    assert r.status_code == 429
    body = r.json()
    assert body["error"] == "rate_limited" and body["retryable"] is True
    assert 0 < body["retry_after_ms"] <= 3_600_000
    assert int(r.headers["Retry-After"]) == -(-body["retry_after_ms"] // 1000)
    assert "3 accounts" in body["limit"]


def test_missing_and_invalid_keys(api, account):
    r = api.get(f"{P}/v1/account/balance")
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key"
    assert r.json()["retryable"] is False
    for bad in ("bg_" + "0" * 32, "nope", account.key.upper(), account.key + "0"):
        r = api.get(f"{P}/v1/account/balance", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_api_key", bad
        assert "hint" in r.json()
    r = api.get(f"{P}/v1/account/balance", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key"


def test_key_in_query_parameter_and_header_wins(api, account, other):
    r = api.get(f"{P}/v1/account/balance", params={"api_key": account.key})
    assert r.status_code == 200
    # Both sent: the Bearer header decides, even when the query key is valid.
    r = api.get(f"{P}/v1/account/balance", params={"api_key": account.key},
                headers={"Authorization": "Bearer bg_" + "1" * 32})
    assert r.status_code == 401 and r.json()["error"] == "invalid_api_key"
    r = api.get(f"{P}/v1/account/balance", params={"api_key": "bg_" + "1" * 32}, headers=other.headers)
    assert r.status_code == 200
    r = api.get(f"{P}/v1/account/balance", params={"api_key": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_api_key"


def test_balance_follows_credits(api, make_account):
    a = make_account(ops=7)
    assert quota.credit(a.id, 19_000) == 19_007
    assert api.get(f"{P}/v1/account/balance", headers=a.headers).json() == {"operations_remaining": 19_007}


def test_notification_email_lifecycle(api, account, other):
    url = f"{P}/v1/account/notification-email"
    assert api.get(url, headers=account.headers).json() == {"notification_email": None}
    r = api.post(url, json={"email": "ops@example.com"}, headers=account.headers)
    assert r.status_code == 200 and r.json() == {"ok": True, "notification_email": "ops@example.com"}
    assert api.get(url, headers=account.headers).json() == {"notification_email": "ops@example.com"}
    assert api.get(url, headers=other.headers).json() == {"notification_email": None}  # tenants apart
    r = api.post(url, json={"email": "new@example.org"}, headers=account.headers)
    assert api.get(url, headers=account.headers).json()["notification_email"] == "new@example.org"
    for _ in range(2):  # idempotent
        r = api.delete(url, headers=account.headers)
        assert r.status_code == 200 and r.json() == {"ok": True}
    assert api.get(url, headers=account.headers).json() == {"notification_email": None}


def test_notification_email_is_erased_from_storage(api, account, settings):
    url = f"{P}/v1/account/notification-email"
    api.post(url, json={"email": "erase-me@example.com"}, headers=account.headers)
    api.delete(url, headers=account.headers)
    dump = "\n".join(sqlite3.connect(settings.data_dir / "pentapi.sqlite3").iterdump())
    assert "erase-me@example.com" not in dump


def test_invalid_notification_email(api, account):
    url = f"{P}/v1/account/notification-email"
    for body in ({"email": "no-at-sign"}, {"email": "a@b"}, {"email": "a b@c.d"},
                 {"email": "x" * 250 + "@b.co"}, {}, {"email": 5}, {"mail": "a@b.co"}):
        r = api.post(url, json=body, headers=account.headers)
        assert r.status_code == 400, body
        assert r.json()["error"] == "invalid_email", (body, r.json())
    assert api.get(url, headers=account.headers).json() == {"notification_email": None}
    r = api.post(url, content=b"{not json", headers={**account.headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
