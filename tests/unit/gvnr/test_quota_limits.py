"""The operation quota, fixed-window limits and key verification, without a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account

from handlers.gvnr import keys, provisioning, quota
from server.errors import ApiError
from storage import db
from tests.conftest import REPO


def test_credit_is_atomic_under_threads(database):
    account, _ = provisioning.create_account(ops=0)

    def credit_ten(_: int) -> None:
        with db.database.connection_context():
            for _ in range(10):
                quota.credit(account.id, 3)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(credit_ten, range(8)))
    assert quota.balance(account.id) == 8 * 10 * 3


def test_credit_refuses_negative_and_unknown(database):
    account, _ = provisioning.create_account(ops=5)
    with pytest.raises(ValueError):
        quota.credit(account.id, -1)
    with pytest.raises(quota.UnknownAccount):
        quota.credit("no-such-account", 1)
    with pytest.raises(ValueError):
        provisioning.create_account(ops=-1)
    assert quota.balance(account.id) == 5


def test_verify_checks_format_digest_and_remembers(database):
    account, key = provisioning.create_account()
    assert keys.verify(key) == account.id
    for bad in ("bg_" + "a" * 32, key.upper(), "bg_short", ""):
        with pytest.raises(ApiError) as err:
            keys.verify(bad)
        assert err.value.code == "invalid_api_key"
    keys.forget(account.id)
    assert keys.verify(key) == account.id


def test_admin_commands(tmp_path):
    env = {**os.environ, "PENTAPI_DATA_DIR": str(tmp_path)}

    def gvnr(*args: str, group: str = "account") -> dict:
        done = subprocess.run([sys.executable, "-m", "server.cli", "gvnr", group, *args], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    made = gvnr("create", "--ops", "3", "--email", "ops@example.com")
    assert made["api_key"].startswith("bg_") and made["operations_remaining"] == 3
    assert gvnr("credit", made["account_id"], "1000")["operations_remaining"] == 1003
    shown = gvnr("show", made["account_id"])
    assert shown["operations_remaining"] == 1003 and shown["notification_email"] == "ops@example.com"
    assert "api_key" not in shown
    assert gvnr("create")["operations_remaining"] == 25
    payto = gvnr(group="payto")
    assert payto["generated"] is True and payto["chain_id"] == 8453
    key_file = tmp_path / "gvnr" / "payto-wallet.key"
    assert payto["key_file"] == str(key_file)
    assert payto["payto_address"] == Account.from_key("0x" + key_file.read_text().strip()).address
