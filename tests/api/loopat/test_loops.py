"""Loop CRUD: defaults and limits, the list's order and cursors, runtime state, archiving,
and one user never seeing or touching another's loops."""

from __future__ import annotations

import re

import pytest

from handlers.loopat import accounts
from tests.api.loopat.conftest import P


def _error(r, status, code, type_):
    assert r.status_code == status, r.text
    assert r.json() == {"error": {"type": type_, "code": code, "message": r.json()["error"]["message"]}}


def test_create_applies_upstreams_defaults(world):
    accounts.create_user("carol", "carol-password", profiles=["research", "writing"], vault="carol-notes")
    _, token = accounts.create_token("carol")
    r = world.client.post(f"{P}/loops", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    loop = r.json()
    assert re.fullmatch(r"loop_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", loop["id"])
    assert loop["title"] == "untitled" and loop["created_by"] == "carol"
    assert loop["profiles"] == ["research", "writing"] and loop["vault"] == "carol-notes"
    assert loop["metadata"] == {} and loop["repo"] is None
    assert loop["archived"] is False and loop["archived_at"] is None
    assert not {"busy", "queue_depth", "turn_count", "current_turn"} & set(loop)  # only on GET /loops/{id}


def test_create_keeps_what_was_given(world):
    body = {"title": "  Launch plan  ", "metadata": {"ticket": "OPS-12", "team": "infra"},
            "profiles": ["ops"], "vault": "work", "repo": "myproject"}
    loop = world.client.post(f"{P}/loops", json=body, headers=world.bearer()).json()
    assert loop["title"] == "Launch plan"
    assert loop["metadata"] == body["metadata"] and loop["profiles"] == ["ops"]
    assert loop["vault"] == "work" and loop["repo"] == "myproject"
    got = world.loop(loop["id"])
    assert {k: v for k, v in got.items() if k not in ("busy", "queue_depth", "turn_count", "current_turn")} == loop


def test_create_limits(world):
    _error(world.client.post(f"{P}/loops", json={"title": "x" * 201}, headers=world.bearer()),
           400, "title_too_long", "invalid_request_error")
    assert world.client.post(f"{P}/loops", json={"title": "x" * 200}, headers=world.bearer()).status_code == 201
    # The spec's maxLength applies to the title as sent; an all-blank title becomes the default.
    assert world.client.post(f"{P}/loops", json={"title": "   "}, headers=world.bearer()).json()["title"] == "untitled"
    big = {f"k{i}": "v" * 100 for i in range(200)}  # > 16 KB of JSON
    _error(world.client.post(f"{P}/loops", json={"metadata": big}, headers=world.bearer()),
           400, "metadata_too_large", "invalid_request_error")
    fits = {"k": "v" * 16_000}
    assert world.client.post(f"{P}/loops", json={"metadata": fits}, headers=world.bearer()).status_code == 201
    r = world.client.post(f"{P}/loops", json={"metadata": {"k": 1}}, headers=world.bearer())
    _error(r, 400, "invalid_request", "invalid_request_error")


def test_list_is_newest_first_with_cursors(world):
    ids = [world.new_loop(title=f"loop {i}") for i in range(7)]  # ids[6] is the newest
    page = world.client.get(f"{P}/loops?limit=3", headers=world.bearer()).json()
    assert [loop["id"] for loop in page["data"]] == ids[6:3:-1]
    assert page["first_id"] == ids[6] and page["last_id"] == ids[4] and page["has_more"] is True
    older = world.client.get(f"{P}/loops?limit=3&after={page['last_id']}", headers=world.bearer()).json()
    assert [loop["id"] for loop in older["data"]] == ids[3:0:-1] and older["has_more"] is True
    last = world.client.get(f"{P}/loops?limit=3&after={older['last_id']}", headers=world.bearer()).json()
    assert [loop["id"] for loop in last["data"]] == [ids[0]] and last["has_more"] is False
    # before: the page just newer than the cursor, still newest first
    newer = world.client.get(f"{P}/loops?limit=2&before={ids[2]}", headers=world.bearer()).json()
    assert [loop["id"] for loop in newer["data"]] == [ids[4], ids[3]] and newer["has_more"] is True
    between = world.client.get(f"{P}/loops?after={ids[5]}&before={ids[1]}", headers=world.bearer()).json()
    assert [loop["id"] for loop in between["data"]] == ids[4:1:-1]
    # The prefix is optional in cursors too; an unknown cursor gives an empty page.
    bare = ids[3].removeprefix("loop_")
    assert world.client.get(f"{P}/loops?limit=1&after={bare}", headers=world.bearer()).json()["data"][0]["id"] == ids[2]
    empty = world.client.get(f"{P}/loops?after=loop_nope", headers=world.bearer()).json()
    assert empty == {"data": [], "first_id": None, "last_id": None, "has_more": False}
    assert not {"busy", "current_turn"} & set(page["data"][0])


def test_list_limit_bounds(world):
    for _ in range(3):
        world.new_loop()
    assert len(world.client.get(f"{P}/loops?limit=0", headers=world.bearer()).json()["data"]) == 1  # clamped
    assert len(world.client.get(f"{P}/loops", headers=world.bearer()).json()["data"]) == 3
    _error(world.client.get(f"{P}/loops?limit=101", headers=world.bearer()), 400, "invalid_request",
           "invalid_request_error")
    _error(world.client.get(f"{P}/loops?limit=ten", headers=world.bearer()), 400, "invalid_request",
           "invalid_request_error")


def test_get_reports_runtime_state_of_an_idle_loop(world):
    loop_id = world.new_loop(title="idle")
    state = world.loop(loop_id)
    assert state["busy"] is False and state["queue_depth"] == 0 and state["turn_count"] == 0
    assert state["current_turn"] is None
    assert world.loop(loop_id.removeprefix("loop_"))["id"] == loop_id  # prefix optional
    _error(world.client.get(f"{P}/loops/loop_00000000-0000-4000-8000-000000000000", headers=world.bearer()),
           404, "loop_not_found", "not_found_error")


def test_delete_archives_softly_and_idempotently(world):
    keep, gone = world.new_loop(title="keep"), world.new_loop(title="gone")
    r = world.client.delete(f"{P}/loops/{gone}", headers=world.bearer())
    assert r.status_code == 204 and r.content == b""
    archived = world.loop(gone)
    assert archived["archived"] is True and archived["archived_at"] is not None
    assert world.client.delete(f"{P}/loops/{gone}", headers=world.bearer()).status_code == 204
    assert world.loop(gone)["archived_at"] == archived["archived_at"]  # the first archive time stays
    listed = world.client.get(f"{P}/loops", headers=world.bearer()).json()["data"]
    assert [loop["id"] for loop in listed] == [keep]
    with_archived = world.client.get(f"{P}/loops?archived=true", headers=world.bearer()).json()["data"]
    assert [loop["id"] for loop in with_archived] == [gone, keep]
    r = world.client.post(f"{P}/loops/{gone}/messages", json={"content": "hello"}, headers=world.bearer())
    _error(r, 400, "loop_archived", "invalid_request_error")
    _error(world.client.delete(f"{P}/loops/loop_nope", headers=world.bearer()), 404, "loop_not_found",
           "not_found_error")


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None),
    ("DELETE", "", None),
    ("POST", "/messages", {"content": "hi"}),
    ("GET", "/events", None),
    ("POST", "/choices/choice_toolu_x", {"allow": True}),
    ("POST", "/interrupt", None),
])
def test_another_users_loop_is_403_and_an_unknown_one_404(world, method, suffix, body):
    alices = world.new_loop(title="private")
    kwargs = {"json": body} if body is not None else {}
    r = world.client.request(method, f"{P}/loops/{alices}{suffix}", headers=world.bearer("bob"), **kwargs)
    _error(r, 403, "not_loop_owner", "permission_error")
    r = world.client.request(method, f"{P}/loops/loop_missing{suffix}", headers=world.bearer("bob"), **kwargs)
    _error(r, 404, "loop_not_found", "not_found_error")
    r = world.client.request(method, f"{P}/loops/{alices}{suffix}", **kwargs)
    _error(r, 401, "missing_credentials", "authentication_error")
    assert world.loop(alices)["archived"] is False and world.loop(alices)["turn_count"] == 0


def test_lists_never_show_another_users_loops(world):
    world.new_loop("alice", title="a")
    bobs = world.new_loop("bob", title="b")
    listed = world.client.get(f"{P}/loops?archived=true", headers=world.bearer("bob")).json()["data"]
    assert [loop["id"] for loop in listed] == [bobs]
    # Alice's loop as a cursor for Bob is unknown: an empty page, not a hint that it exists.
    alices = world.client.get(f"{P}/loops", headers=world.bearer()).json()["data"][0]["id"]
    assert world.client.get(f"{P}/loops?after={alices}", headers=world.bearer("bob")).json()["data"] == []
