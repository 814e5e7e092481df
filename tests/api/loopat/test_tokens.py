"""/me/tokens: upstream's api-tokens.ts rules, cookie-only, hashed at rest, lastUsedAt."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time

from tests.api.loopat.conftest import P


def _create(world, body=None, user="alice"):
    kwargs = {"json": body} if body is not None else {}
    return world.client.post(f"{P}/me/tokens", headers=world.cookie(user), **kwargs)


def test_create_returns_the_plaintext_once_in_upstreams_format(world, settings):
    r = _create(world, {"label": "  ci bot  "})
    assert r.status_code == 201
    created = r.json()
    assert set(created) == {"tokenId", "token", "label", "createdAt"}
    assert re.fullmatch(r"la_[0-9a-f]{48}", created["token"])
    assert re.fullmatch(r"tok_[0-9a-f]{12}", created["tokenId"])
    assert created["label"] == "ci bot"  # trimmed
    listed = world.client.get(f"{P}/me/tokens", headers=world.cookie()).json()["tokens"]
    mine = next(t for t in listed if t["tokenId"] == created["tokenId"])
    assert "token" not in mine and mine["label"] == "ci bot" and "lastUsedAt" not in mine
    raw = (settings.data_dir / "pentapi.sqlite3").read_bytes()
    assert created["token"].encode() not in raw
    db = sqlite3.connect(settings.data_dir / "pentapi.sqlite3")
    stored = db.execute("SELECT digest FROM loopat_api_token WHERE id = ?", (created["tokenId"],)).fetchone()[0]
    assert stored == hashlib.sha256(created["token"].encode()).hexdigest()
    # The new token works as a bearer at once.
    assert world.client.get(f"{P}/loops", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200


def test_the_label_defaults_to_default(world):
    for body in (None, {}, {"label": ""}, {"label": "   "}):
        r = _create(world, body)
        assert r.status_code == 201 and r.json()["label"] == "default", body


def test_list_is_newest_first_and_only_mine(world):
    ids = [_create(world, {"label": f"t{i}"}).json()["tokenId"] for i in range(3)]
    _create(world, {"label": "bob's"}, user="bob")
    tokens = world.client.get(f"{P}/me/tokens", headers=world.cookie()).json()["tokens"]
    mine = [t["tokenId"] for t in tokens]
    assert mine[:3] == ids[::-1]
    assert all(t["label"] != "bob's" for t in tokens)
    assert len(tokens) == 4  # three new ones and the fixture's


def test_revoke_is_204_then_404_and_the_token_stops_working(world):
    created = _create(world, {"label": "temp"}).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert world.client.get(f"{P}/loops", headers=bearer).status_code == 200
    # Bob cannot revoke (or learn about) Alice's token.
    r = world.client.delete(f"{P}/me/tokens/{created['tokenId']}", headers=world.cookie("bob"))
    assert r.status_code == 404 and r.json()["error"] == {
        "type": "not_found_error", "code": "token_not_found", "message": r.json()["error"]["message"]}
    r = world.client.delete(f"{P}/me/tokens/{created['tokenId']}", headers=world.cookie())
    assert r.status_code == 204 and r.content == b""
    assert world.client.delete(f"{P}/me/tokens/{created['tokenId']}", headers=world.cookie()).status_code == 404
    assert world.client.get(f"{P}/loops", headers=bearer).status_code == 401


def test_token_routes_are_cookie_only(world):
    for method, path in (("POST", "/me/tokens"), ("GET", "/me/tokens"), ("DELETE", "/me/tokens/tok_000000000000")):
        r = world.client.request(method, f"{P}{path}", headers=world.bearer())
        assert r.status_code == 401, (method, path)
        assert r.json()["error"]["type"] == "authentication_error"
        assert r.json()["error"]["code"] == "missing_credentials"


def test_last_used_at_is_recorded_after_use(world):
    created = _create(world, {"label": "used"}).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    before = time.time()
    assert world.client.get(f"{P}/loops", headers=bearer).status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tokens = world.client.get(f"{P}/me/tokens", headers=world.cookie()).json()["tokens"]
        used = next(t for t in tokens if t["tokenId"] == created["tokenId"])
        if "lastUsedAt" in used:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("lastUsedAt never appeared")
    from datetime import datetime

    assert datetime.fromisoformat(used["lastUsedAt"]).timestamp() >= before - 1
    unused = next(t for t in tokens if t["label"] == "tests")
    assert "lastUsedAt" not in unused  # the fixture's token was never used as a bearer here


def test_create_validates_its_body(world):
    r = world.client.post(f"{P}/me/tokens", json={"label": 5}, headers=world.cookie())
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
