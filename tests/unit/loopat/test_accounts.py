"""Users, passwords, sessions and tokens as plain functions, and the lastUsedAt batching."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest

from handlers.loopat import accounts, token_touch
from server.settings import activate
from storage.loopat import ApiToken, Session, User


def test_passwords_are_argon2id_and_rehashed_when_the_cost_changes(database, unit_settings):
    accounts.create_user("alice", "correct horse")
    stored = User.get_by_id("alice").password_hash
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$") and "correct horse" not in stored
    assert accounts.authenticate("alice", "correct horse").username == "alice"
    assert accounts.authenticate("alice", "wrong horse") is None
    assert accounts.authenticate("nobody", "correct horse") is None
    activate(unit_settings.replace(loopat_argon2_time_cost=2))
    assert accounts.authenticate("alice", "correct horse") is not None
    assert User.get_by_id("alice").password_hash.startswith("$argon2id$v=19$m=1024,t=2,p=1$")


@pytest.mark.parametrize(("username", "password", "reason"), [
    ("Alice", "long enough", "lowercase"),
    ("a" * 33, "long enough", "1-32"),
    ("with space", "long enough", "lowercase"),
    ("alice", "short", "at least 8"),
])
def test_create_user_refuses(database, username, password, reason):
    with pytest.raises(accounts.AccountError, match=reason):
        accounts.create_user(username, password)


def test_usernames_are_unique(database):
    accounts.create_user("alice", "password-1")
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user("alice", "password-2")


def test_sessions_are_hashed_expire_and_die_with_the_user(database):
    accounts.create_user("alice", "password-1")
    session, secret = accounts.create_session("alice", days=1)
    assert re.fullmatch(r"ses_[0-9a-f]{12}", session.id) and re.fullmatch(r"[0-9a-f]{64}", secret)
    assert Session.get_by_id(session.id).digest == hashlib.sha256(secret.encode()).hexdigest()
    assert accounts.resolve_session(secret).user == "alice"
    assert accounts.resolve_session(secret[:-1] + ("1" if secret.endswith("0") else "0")) is None  # one digit off
    _, expired = accounts.create_session("alice", days=-1)
    assert accounts.resolve_session(expired) is None
    accounts.create_session("alice", days=1)  # a new login sweeps the expired one
    assert Session.select().where(Session.user == "alice").count() == 2
    accounts.set_disabled("alice", True)
    assert accounts.resolve_session(secret) is None
    with pytest.raises(accounts.AccountError, match="disabled"):
        accounts.create_session("alice", days=1)


def test_tokens_follow_api_tokens_ts(database):
    accounts.create_user("alice", "password-1")
    row, secret = accounts.create_token("alice", "  deploy  ")
    assert re.fullmatch(r"la_[0-9a-f]{48}", secret) and re.fullmatch(r"tok_[0-9a-f]{12}", row.id)
    assert row.label == "deploy" and accounts.create_token("alice", None)[0].label == "default"
    assert ApiToken.get_by_id(row.id).digest == hashlib.sha256(secret.encode()).hexdigest()
    assert accounts.resolve_token(secret).credential_id == row.id
    assert accounts.resolve_token("la_" + "0" * 48) is None
    assert accounts.resolve_token(secret.replace("la_", "xx_")) is None  # no prefix: no lookup at all
    assert not accounts.revoke_token("bob", row.id)
    assert accounts.revoke_token("alice", row.id) and accounts.resolve_token(secret) is None


def test_last_used_at_is_batched_and_throttled(database, unit_settings):
    activate(unit_settings.replace(loopat_token_touch_seconds=60))  # the background thread stays asleep
    accounts.create_user("alice", "password-1")
    row, _ = accounts.create_token("alice")
    token_touch.record(row.id, None)
    assert ApiToken.get_by_id(row.id).last_used_at is None  # nothing written on the request path
    assert token_touch.flush() == 1
    written = ApiToken.get_by_id(row.id).last_used_at
    assert written is not None and dt.datetime.now(dt.UTC) - written < dt.timedelta(seconds=5)
    token_touch.record(row.id, written)  # used again within the interval: not even queued
    assert token_touch.flush() == 0
