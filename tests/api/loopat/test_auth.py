"""Login, the loopat_session cookie, logout, and how the two credentials resolve."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from http.cookies import SimpleCookie

from handlers.loopat import accounts
from tests.api.loopat.conftest import AUTH, PASSWORDS, P


def _login(client, username="alice", password=PASSWORDS["alice"], base=AUTH):
    return client.post(f"{base}/login", json={"username": username, "password": password})


def _cookie(response):
    jar = SimpleCookie()
    jar.load(response.headers["set-cookie"])
    return jar["loopat_session"]


def test_login_sets_an_httponly_samesite_cookie_with_30_day_expiry(world, settings):
    r = _login(world.client)
    assert r.status_code == 200
    assert r.json()["username"] == "alice"
    expires = dt.datetime.fromisoformat(r.json()["expires_at"])
    assert abs((expires - dt.datetime.now(dt.UTC)) - dt.timedelta(days=30)) < dt.timedelta(minutes=1)
    morsel = _cookie(r)
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["max-age"] == str(30 * 86400)
    assert morsel["path"] == "/loopat/api"  # reaches /loopat/api/v1/... and /loopat/api/auth/...
    assert not morsel["secure"]  # plain HTTP here; Secure over HTTPS or with LOOPAT_COOKIE_SECURE
    # Only the digest is stored.
    db = sqlite3.connect(settings.data_dir / "pentapi.sqlite3")
    digests = [row[0] for row in db.execute("SELECT digest FROM loopat_session")]
    assert hashlib.sha256(morsel.value.encode()).hexdigest() in digests
    assert morsel.value.encode() not in (settings.data_dir / "pentapi.sqlite3").read_bytes()


def test_the_cookie_authenticates_v1_routes_and_logout_ends_it(world):
    morsel = _cookie(_login(world.client))
    world.client.cookies.clear()
    headers = {"Cookie": f"loopat_session={morsel.value}"}
    assert world.client.get(f"{P}/loops", headers=headers).status_code == 200
    assert world.client.get(f"{P}/me/tokens", headers=headers).status_code == 200
    out = world.client.post(f"{AUTH}/logout", headers=headers)
    assert out.status_code == 204
    cleared = _cookie(out)
    assert cleared.value == "" and cleared["path"] == "/loopat/api" and cleared["max-age"] == "0"
    world.client.cookies.clear()
    r = world.client.get(f"{P}/loops", headers=headers)
    assert r.status_code == 401 and r.json()["error"] == {
        "type": "authentication_error", "code": "missing_credentials", "message": r.json()["error"]["message"]}
    # Logging out again (or with no cookie at all) is harmless.
    assert world.client.post(f"{AUTH}/logout", headers=headers).status_code == 204
    assert world.client.post(f"{AUTH}/logout").status_code == 204


def test_wrong_password_unknown_user_and_disabled_user_are_401(world):
    attempts = (("alice", "not-her-password"), ("mallory", "whatever-pass"), ("Alice", PASSWORDS["alice"]))
    for username, password in attempts:
        r = _login(world.client, username, password)
        assert r.status_code == 401, username
        assert r.json()["error"]["code"] == "invalid_credentials"
        assert "set-cookie" not in r.headers
    accounts.set_disabled("bob", True)
    assert _login(world.client, "bob", PASSWORDS["bob"]).status_code == 401
    # A disabled user's existing session and token stop working too.
    assert world.client.get(f"{P}/loops", headers=world.cookie("bob")).status_code == 401
    assert world.client.get(f"{P}/loops", headers=world.bearer("bob")).status_code == 401


def test_login_validates_its_body(world):
    for body in ({}, {"username": "alice"}, {"username": 3, "password": "x"}):
        r = world.client.post(f"{AUTH}/login", json=body)
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_an_expired_session_is_refused(world):
    _, stale = accounts.create_session("alice", days=-1)
    r = world.client.get(f"{P}/loops", headers={"Cookie": f"loopat_session={stale}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_credentials"


def test_a_new_password_ends_every_session(world):
    accounts.set_password("alice", "a-brand-new-password")
    assert world.client.get(f"{P}/loops", headers=world.cookie()).status_code == 401
    assert _login(world.client).status_code == 401
    assert _login(world.client, password="a-brand-new-password").status_code == 200
    # API tokens are not sessions: they keep working.
    assert world.client.get(f"{P}/loops", headers=world.bearer()).status_code == 200


def test_bearer_tokens_must_be_live_la_tokens(world):
    for value in ("la_" + "0" * 48, "nope", world.tokens["alice"][3:], ""):
        r = world.client.get(f"{P}/loops", headers={"Authorization": f"Bearer {value}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_credentials"
    assert world.client.get(f"{P}/loops").status_code == 401


def test_the_session_cookie_wins_over_a_token_of_another_user(world):
    alices = world.new_loop("alice", title="alice's")
    both = {**world.bearer("bob"), **world.cookie("alice")}
    listed = world.client.get(f"{P}/loops", headers=both).json()["data"]
    assert [loop["id"] for loop in listed] == [alices]
    # A dead cookie does not block a good token.
    r = world.client.get(f"{P}/loops", headers={**world.bearer("bob"), "Cookie": "loopat_session=stale"})
    assert r.status_code == 200 and r.json()["data"] == []


def test_single_api_mode_serves_login_at_api_auth(make_client, world):
    client = make_client(api="loopat")
    r = _login(client, base="/api/auth")
    assert r.status_code == 200 and _cookie(r)["path"] == "/api"
    assert client.get("/api/v1/loops", headers={"Cookie": f"loopat_session={_cookie(r).value}"}).status_code == 200
