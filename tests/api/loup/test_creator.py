"""Creator-key operations: /me, /installs, /usage: scopes, filters, pagination, isolation."""

from __future__ import annotations

import datetime as dt
import json

from handlers.loup import provisioning as prov
from storage.base import utcnow
from storage.loup import UsageEvent
from tests.api.loup.conftest import P


def _event(world, install: str, pack: str, event_type: str, at: dt.datetime, **extra) -> str:
    event_id = prov.new_id("evt_", 8)
    UsageEvent.insert(
        id=event_id,
        install=world.ids[install],
        pack=world.ids[pack],
        event_type=event_type,
        occurred_at=at,
        payload=json.dumps(extra),
    ).execute()
    return event_id


# ------------------------------------------------------------------ /me


def test_me_returns_account_scopes_and_key(api, world):
    r = api.get(f"{P}/me", headers=world.creator_headers())
    assert r.status_code == 200
    body = r.json()
    assert body["account_id"] == world.ids["alice"]
    assert body["scopes"] == ["read:installs", "read:usage"]
    assert body["key_id"].startswith("key_")
    assert int(r.headers["X-RateLimit-Remaining"]) > 0


def test_me_rejects_missing_invalid_and_wrong_kind_of_token(api, world):
    assert api.get(f"{P}/me").status_code == 401
    bad = api.get(f"{P}/me", headers={"Authorization": "Bearer plat_" + "0" * 48})
    assert bad.status_code == 401
    assert bad.json() == {"error": "invalid bearer token", "code": "UNAUTHORIZED"}
    # An install token is not a creator key.
    assert api.get(f"{P}/me", headers=world.token_headers()).status_code == 401


def test_revoked_key_is_refused(api, world):
    key, secret = prov.mint_key(world.ids["alice"], ["read:usage"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"{P}/me", headers=headers).status_code == 200
    prov.revoke_key(key.id)
    r = api.get(f"{P}/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == "KEY_REVOKED"


def test_keys_are_stored_hashed(api, world):
    """Only SHA-256 digests reach the database file: no plaintext key or token anywhere in it."""
    import hashlib

    from storage import db
    from storage.loup import ApiKey, InstallToken

    assert {k.digest for k in ApiKey.select()} == {
        hashlib.sha256(secret.encode()).hexdigest() for secret in world.keys.values()
    }
    assert {t.digest for t in InstallToken.select()} == {
        hashlib.sha256(secret.encode()).hexdigest() for secret in world.tokens.values()
    }
    db.database.execute_sql("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in world.settings.data_dir.glob("pentapi.sqlite3*"))
    for secret in [*world.keys.values(), *world.tokens.values()]:
        assert secret.encode() not in raw


# ------------------------------------------------------------------ /installs


def test_installs_lists_only_the_callers_packs(api, world):
    r = api.get(f"{P}/installs", headers=world.creator_headers("alice"))
    assert r.status_code == 200
    body = r.json()
    assert [i["id"] for i in body["data"]] == [world.ids["alice_install"]]
    item = body["data"][0]
    assert item["skill_pack_id"] == world.ids["writer"]
    assert item["status"] == "active" and item["invocation_count"] == 0
    assert item["channel"] is None and item["installed_version"] is None
    assert body["next_cursor"] is None
    r = api.get(f"{P}/installs", headers=world.creator_headers("bob"))
    assert [i["id"] for i in r.json()["data"]] == [world.ids["bob_install"]]
    assert r.json()["data"][0]["channel"] == "slack"


def test_installs_filter_by_another_creators_pack_reveals_nothing(api, world):
    r = api.get(
        f"{P}/installs",
        params={"pack_id": world.ids["ledger"]},
        headers=world.creator_headers("alice"),
    )
    assert r.status_code == 200 and r.json()["data"] == []


def test_installs_filters_pack_and_status(api, world):
    trial = prov.create_install(world.ids["kit"], status="trialing")
    gone = prov.create_install(world.ids["kit"], status="canceled")
    headers = world.creator_headers()
    by_pack = api.get(f"{P}/installs", params={"pack_id": world.ids["kit"]}, headers=headers).json()
    assert {i["id"] for i in by_pack["data"]} == {trial.id, gone.id}
    by_status = api.get(f"{P}/installs", params={"status": "canceled"}, headers=headers).json()
    assert [i["id"] for i in by_status["data"]] == [gone.id]
    both = api.get(
        f"{P}/installs",
        params={"pack_id": world.ids["writer"], "status": "trialing"},
        headers=headers,
    ).json()
    assert both["data"] == []


def test_installs_requires_read_installs_scope(api, world):
    _, secret = prov.mint_key(world.ids["alice"], ["read:usage"])
    r = api.get(f"{P}/installs", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403
    assert r.json()["code"] == "INSUFFICIENT_SCOPE"
    assert "read:installs" in r.json()["error"]


def test_admin_scope_reads_own_installs_only(api, world):
    admin = prov.create_creator("loup-staff", "Loup Staff", is_admin=True)
    _, secret = prov.mint_key(admin.id, ["admin"])
    r = api.get(f"{P}/installs", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200 and r.json()["data"] == []


def test_installs_limit_bounds(api, world):
    headers = world.creator_headers()
    for bad in ("0", "101", "x"):
        r = api.get(f"{P}/installs", params={"limit": bad}, headers=headers)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "BAD_REQUEST"


def test_installs_pagination_walks_every_install_once(api, world):
    created = [prov.create_install(world.ids["kit"]).id for _ in range(7)]
    expected = set(created) | {world.ids["alice_install"]}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get(f"{P}/installs", params=params, headers=world.creator_headers()).json()
        seen += [i["id"] for i in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) and set(seen) == expected
    # newest first
    assert seen[:7] == list(reversed(created))


def test_pagination_is_stable_while_installs_are_inserted(api, world):
    """Inserts between pages never cause a skip or a repeat of the items that existed."""
    existing = {prov.create_install(world.ids["kit"]).id for _ in range(9)} | {
        world.ids["alice_install"]
    }
    inserted, seen, cursor = set(), [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get(f"{P}/installs", params=params, headers=world.creator_headers()).json()
        seen += [i["id"] for i in body["data"]]
        # A buyer installs while the creator is paging: two new rows per page.
        inserted |= {prov.create_install(world.ids["writer"]).id for _ in range(2)}
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "an install was repeated"
    assert existing <= set(seen), "an install was skipped"
    assert not (inserted & set(seen)), "rows newer than the first page appear only on a fresh walk"


def test_invalid_cursor_is_400(api, world):
    for cursor in ("not-a-cursor", "W10", "eyJhIjoxfQ"):
        r = api.get(f"{P}/installs", params={"cursor": cursor}, headers=world.creator_headers())
        assert r.status_code == 400, cursor
        assert r.json()["code"] == "INVALID_CURSOR"


# ------------------------------------------------------------------ /usage


def test_usage_default_window_is_last_seven_days(api, world):
    now = utcnow()
    recent = _event(world, "alice_install", "writer", "skill.invoked", now - dt.timedelta(days=2))
    _event(world, "alice_install", "writer", "skill.invoked", now - dt.timedelta(days=8))
    r = api.get(f"{P}/usage", headers=world.creator_headers())
    assert r.status_code == 200
    assert [e["id"] for e in r.json()["data"]] == [recent]
    event = r.json()["data"][0]
    assert (
        event["install_id"] == world.ids["alice_install"] and event["event_type"] == "skill.invoked"
    )


def test_usage_from_to_event_type_pack_and_limit(api, world):
    now = utcnow()
    old = _event(world, "alice_install", "writer", "skill.error", now - dt.timedelta(days=30))
    ids = [
        _event(world, "alice_install", "writer", "skill.success", now - dt.timedelta(hours=h))
        for h in (1, 2, 3)
    ]
    headers = world.creator_headers()
    window = {
        "from": (now - dt.timedelta(days=31)).isoformat(),
        "to": (now - dt.timedelta(days=29)).isoformat(),
    }
    assert [
        e["id"] for e in api.get(f"{P}/usage", params=window, headers=headers).json()["data"]
    ] == [old]
    only_from = {"from": (now - dt.timedelta(days=60)).isoformat()}
    assert len(api.get(f"{P}/usage", params=only_from, headers=headers).json()["data"]) == 4
    typed = api.get(f"{P}/usage", params={"event_type": "skill.success"}, headers=headers).json()
    assert [e["id"] for e in typed["data"]] == ids  # newest first
    limited = api.get(f"{P}/usage", params={"limit": 2}, headers=headers).json()
    assert [e["id"] for e in limited["data"]] == ids[:2]
    other = api.get(f"{P}/usage", params={"pack_id": world.ids["kit"]}, headers=headers).json()
    assert other["data"] == []


def test_usage_is_isolated_between_creators(api, world):
    now = utcnow()
    _event(world, "alice_install", "writer", "skill.invoked", now)
    bob_event = _event(world, "bob_install", "ledger", "skill.invoked", now)
    bob = api.get(f"{P}/usage", headers=world.creator_headers("bob")).json()
    assert [e["id"] for e in bob["data"]] == [bob_event]
    sneaky = api.get(
        f"{P}/usage",
        params={"pack_id": world.ids["ledger"]},
        headers=world.creator_headers("alice"),
    ).json()
    assert sneaky["data"] == []


def test_usage_requires_read_usage_scope(api, world):
    r = api.get(f"{P}/usage", headers=world.creator_headers("alice_installs_only"))
    assert r.status_code == 403 and r.json()["code"] == "INSUFFICIENT_SCOPE"


def test_usage_rejects_inverted_window_and_bad_values(api, world):
    headers = world.creator_headers()
    now = utcnow()
    inverted = {"from": now.isoformat(), "to": (now - dt.timedelta(days=1)).isoformat()}
    assert api.get(f"{P}/usage", params=inverted, headers=headers).status_code == 400
    assert (
        api.get(f"{P}/usage", params={"event_type": "skill.bogus"}, headers=headers).status_code
        == 400
    )
    assert api.get(f"{P}/usage", params={"limit": 1001}, headers=headers).status_code == 400
    assert api.get(f"{P}/usage", params={"from": "yesterday"}, headers=headers).status_code == 400


def test_served_alone_at_the_specs_own_paths(make_client, world):
    alone = make_client(api="loup")
    r = alone.get("/api/v1/me", headers=world.creator_headers())
    assert r.status_code == 200 and r.json()["account_id"] == world.ids["alice"]
    assert alone.get("/api/v1/marketplace/search", params={"q": "writer"}).json()["results"]
