"""Turns over SSE with a real SSE client (httpx-sse): the vocabulary and ids, queueing, replay
by Idempotency-Key after a dropped connection, choices, interrupt, the read-only watch stream,
pings, and the errors before a stream opens."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time

import anyio
import httpx

from tests.api.loopat.conftest import FAST, P, data, until

ASK = "ask me first, then what is 6*7"
RENAME = "rename this loop to Quarterly plans"


def _ids(events) -> list[int]:
    return [int(e.id) for e in events]


def test_a_turn_streams_the_documented_vocabulary_with_increasing_ids(world):
    loop_id = world.new_loop()
    events = world.send(loop_id, "what is (2+3)*4? and what time is it")
    names = [e.event for e in events]
    assert names[0] == "started" and names[-1] == "done"
    assert data(events[0]) == {"turn_id": data(events[0])["turn_id"], "cold_start": False}
    turn_id = data(events[0])["turn_id"]
    assert re.fullmatch(r"turn_[0-9a-f]{20}", turn_id)
    assert data(events[-1]) == {"turn_id": turn_id}
    assert "thinking_delta" in names and "assistant_delta" in names
    calls = [data(e) for e in events if e.event == "tool_call"]
    results = [data(e) for e in events if e.event == "tool_result"]
    assert [c["tool"] for c in calls] == ["Calculator", "Clock"]
    assert all(re.fullmatch(r"toolu_[A-Za-z0-9]{24}", c["tool_use_id"]) for c in calls)
    assert results == [{"tool_use_id": c["tool_use_id"], "ok": True} for c in calls]
    text = "".join(data(e)["text"] for e in events if e.event == "assistant_delta")
    assert text.startswith("(2+3)*4 = 20. It is ")
    ids = _ids(events)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e.event != "queued" for e in events)  # the loop was idle
    state = world.loop(loop_id)
    assert state["busy"] is False and state["turn_count"] == 1 and state["current_turn"] is None


def test_messages_sent_while_a_turn_runs_are_queued_and_run_in_order(world):
    loop_id = world.new_loop()
    with world.stream(loop_id, ASK, permission_mode="default") as first:
        first_iter = first.iter_sse()
        first_events = until(first_iter, "requires_choice")
        choice_id = data(first_events[-1])["choice_id"]
        with world.stream(loop_id, "what is 1+1") as second, world.stream(loop_id, "what is 2+2") as third:
            second_events = second.iter_sse()
            third_events = third.iter_sse()
            queued = next(second_events)
            assert (queued.event, data(queued)) == ("queued", {"position": 1})
            assert data(next(third_events)) == {"position": 2}
            state = world.loop(loop_id)
            assert state["busy"] is True and state["queue_depth"] == 2
            assert state["current_turn"]["turn_id"] == data(first_events[0])["turn_id"]
            assert state["current_turn"]["pending_choice_id"] == choice_id
            assert state["current_turn"]["started_at"] is not None
            assert world.answer(loop_id, choice_id, {"answers": {"How detailed should my answer be?": "Brief"}}
                                ).status_code == 202
            rest_of_first = [e for e in first_iter if e.event != "ping"]
            assert [e.event for e in rest_of_first][-1] == "done"
            second_rest = [e for e in second_events if e.event != "ping"]
            third_rest = [e for e in third_events if e.event != "ping"]
    assert second_rest[0].event == "started" and second_rest[-1].event == "done"
    assert third_rest[0].event == "started" and third_rest[-1].event == "done"
    # FIFO: the second turn ended before the third started.
    assert int(second_rest[-1].id) < int(third_rest[0].id)
    assert "1+1 = 2." in "".join(data(e)["text"] for e in second_rest if e.event == "assistant_delta")
    state = world.wait_idle(loop_id)
    assert state["turn_count"] == 3 and state["queue_depth"] == 0


def test_a_dropped_connection_does_not_cancel_and_the_same_key_replays_then_attaches(world):
    loop_id = world.new_loop()
    with world.stream(loop_id, ASK, key="msg-1", permission_mode="default") as source:
        seen = until(source.iter_sse(), "requires_choice")
    # The connection is gone; the turn is not.
    choice_id = data(seen[-1])["choice_id"]
    assert world.loop(loop_id)["current_turn"]["pending_choice_id"] == choice_id
    with world.stream(loop_id, ASK, key="msg-1", permission_mode="default") as again:
        again_events = again.iter_sse()
        replay = until(again_events, "requires_choice")
        assert [(e.id, e.event, e.data) for e in replay] == [(e.id, e.event, e.data) for e in seen]
        assert world.answer(loop_id, choice_id, {"answers": {"How detailed should my answer be?": "Detailed"}}
                            ).status_code == 202
        live = [e for e in again_events if e.event != "ping"]
    assert [e.event for e in live][:2] == ["choice_resolved", "tool_result"] and live[-1].event == "done"
    assert data(live[0]) == {"choice_id": choice_id, "source": "api"}
    text = "".join(data(e)["text"] for e in replay + live if e.event == "assistant_delta")
    assert text.startswith("Before I answer, one question. You chose \"Detailed\". 6*7 = 42")
    # Nothing was sent twice: still one turn. After the end, the key replays the whole turn and closes.
    assert world.loop(loop_id)["turn_count"] == 1
    full = world.send(loop_id, ASK, key="msg-1", permission_mode="default")
    assert [e.id for e in full] == [e.id for e in replay + live]
    # Last-Event-ID skips what the client already has (no duplicate prefix).
    tail = world.send(loop_id, ASK, key="msg-1", permission_mode="default", headers={"Last-Event-ID": live[0].id})
    assert [e.id for e in tail] == [e.id for e in live[1:]]


def test_the_same_key_with_another_body_or_loop_is_409(world):
    loop_id, other = world.new_loop(), world.new_loop()
    assert world.send(loop_id, "what is 1+2", key="k")[-1].event == "done"
    for url_loop, body in ((loop_id, {"content": "what is 1+3"}),
                           (loop_id, {"content": "what is 1+2", "permission_mode": "plan"}),
                           (other, {"content": "what is 1+2"})):
        r = world.client.post(f"{P}/loops/{url_loop}/messages", json=body,
                              headers={**world.bearer(), "Idempotency-Key": "k"})
        assert r.status_code == 409
        assert r.json()["error"] == {"type": "conflict_error", "code": "idempotency_key_reused",
                                     "message": r.json()["error"]["message"]}
    # Keys are per user: Bob's "k" is his own.
    bobs = world.new_loop("bob")
    assert world.send(bobs, "what is 1+3", user="bob", key="k")[-1].event == "done"


def test_permission_choice_round_trip(world):
    loop_id = world.new_loop(title="old title")
    with world.stream(loop_id, RENAME, permission_mode="default") as source:
        events = source.iter_sse()
        before = until(events, "requires_choice")
        call = next(data(e) for e in before if e.event == "tool_call")
        asked = data(before[-1])
        assert asked["kind"] == "permission"
        assert asked["choice_id"] == f"choice_{call['tool_use_id']}"
        assert asked["payload"] == {"tool": "RenameLoop", "title": 'Rename this loop to "Quarterly plans"',
                                    "display_name": "Rename loop"}
        # The wrong shape for a permission is 400; nothing is resolved by it.
        r = world.answer(loop_id, asked["choice_id"], {"answers": {"x": "y"}})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_choice_payload"
        r = world.answer(loop_id, asked["choice_id"], {"allow": "yes"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_choice_payload"
        bare_id = asked["choice_id"].removeprefix("choice_")  # the prefix is optional
        assert world.answer(loop_id, bare_id, {"allow": True}).status_code == 202
        after = [e for e in events if e.event != "ping"]
    assert [e.event for e in after[:2]] == ["choice_resolved", "tool_result"]
    assert data(after[1]) == {"tool_use_id": call["tool_use_id"], "ok": True}
    assert after[-1].event == "done"
    assert world.loop(loop_id)["title"] == "Quarterly plans"
    r = world.answer(loop_id, asked["choice_id"], {"allow": True})
    assert r.status_code == 404 and r.json()["error"]["code"] == "choice_not_found"
    r = world.answer(loop_id, "choice_toolu_unknown", {"allow": True})
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_a_denied_permission_skips_the_tool(world):
    loop_id = world.new_loop(title="keep me")
    with world.stream(loop_id, RENAME, permission_mode="plan") as source:
        events = source.iter_sse()
        asked = data(until(events, "requires_choice")[-1])
        assert world.answer(loop_id, asked["choice_id"], {"allow": False}).status_code == 202
        after = [e for e in events if e.event != "ping"]
    result = next(data(e) for e in after if e.event == "tool_result")
    assert result["ok"] is False and after[-1].event == "done"
    assert world.loop(loop_id)["title"] == "keep me"


def test_permission_modes_that_do_not_ask(world):
    # bypassPermissions is the session default; acceptEdits allows edit tools like RenameLoop.
    for mode, title in ((None, "one"), ("acceptEdits", "two"), ("dontAsk", "three")):
        loop_id = world.new_loop()
        extra = {"permission_mode": mode} if mode else {}
        events = world.send(loop_id, f"rename this loop to {title}", **extra)
        assert "requires_choice" not in [e.event for e in events], mode
        assert world.loop(loop_id)["title"] == title


def test_a_mode_sent_with_a_message_persists_for_the_loop(world):
    loop_id = world.new_loop()
    assert world.send(loop_id, "what is 1+1", permission_mode="default")[-1].event == "done"
    with world.stream(loop_id, RENAME) as source:  # no mode given: the loop's mode is now "default"
        assert until(source.iter_sse(), "requires_choice")
    assert world.client.post(f"{P}/loops/{loop_id}/interrupt", headers=world.bearer()).status_code == 202


def test_interrupt_closes_open_streams_drops_the_queue_and_leaves_the_loop_idle(world):
    loop_id = world.new_loop()
    watcher_events = []
    with contextlib.ExitStack() as stack:
        running = stack.enter_context(world.stream(loop_id, ASK, permission_mode="default"))
        running_events = running.iter_sse()
        started = until(running_events, "requires_choice")
        turn_id = data(started[0])["turn_id"]
        watch = stack.enter_context(world.client.stream("GET", f"{P}/loops/{loop_id}/events", headers=world.bearer()))
        with world.stream(loop_id, "what is 3+3") as waiting:
            waiting_events = waiting.iter_sse()
            queued = next(waiting_events)
            assert queued.event == "queued"
            r = world.client.post(f"{P}/loops/{loop_id}/interrupt", headers=world.bearer())
            assert r.status_code == 202 and r.content == b""
            end = [e for e in running_events if e.event != "ping"]
            assert [(e.event, data(e)) for e in end] == [("interrupted", {"turn_id": turn_id})]
            queued_end = [e for e in waiting_events if e.event != "ping"]
            assert [e.event for e in queued_end] == ["interrupted"]
        # The watcher saw both and is still open (it never closes on a turn's end).
        for line in watch.iter_lines():
            if line.startswith("event: "):
                if line != "event: ping":
                    watcher_events.append(line.removeprefix("event: "))
            if watcher_events.count("interrupted") == 2:
                break
    assert watcher_events[0] == "snapshot" and "queued" in watcher_events
    state = world.loop(loop_id)
    assert state["busy"] is False and state["queue_depth"] == 0 and state["current_turn"] is None
    # Answering the interrupted turn's choice is now 404; interrupting an idle loop is still 202.
    assert world.answer(loop_id, data(started[-1])["choice_id"], {"answers": {}}).status_code == 404
    assert world.client.post(f"{P}/loops/{loop_id}/interrupt", headers=world.bearer()).status_code == 202
    assert world.send(loop_id, "what is 5+5")[-1].event == "done"


def test_delete_stops_the_running_turn(world):
    loop_id = world.new_loop()
    with world.stream(loop_id, ASK, permission_mode="default") as running:
        events = running.iter_sse()
        until(events, "requires_choice")
        assert world.client.delete(f"{P}/loops/{loop_id}", headers=world.bearer()).status_code == 204
        assert [e.event for e in events if e.event != "ping"] == ["interrupted"]
    state = world.loop(loop_id)
    assert state["archived"] is True and state["busy"] is False


def test_watching_starts_with_a_snapshot_of_the_running_turn(world):
    loop_id = world.new_loop()
    with world.stream(loop_id, ASK, permission_mode="default") as running:
        running_events = running.iter_sse()
        asked = data(until(running_events, "requires_choice")[-1])
        with world.client.stream("GET", f"{P}/loops/{loop_id}/events", headers=world.bearer()) as watch:
            assert watch.headers["content-type"].startswith("text/event-stream")
            lines = watch.iter_lines()
            first = _next_event(lines, pings=False)
            assert first["event"] == "snapshot"
            assert first["data"] == {"turn_id": first["data"]["turn_id"],
                                     "assistant_text_so_far": "Before I answer, one question. ",
                                     "pending_choice_id": asked["choice_id"]}
            world.answer(loop_id, asked["choice_id"], {"answers": {"How detailed should my answer be?": "Brief"}})
            seen = []
            while not seen or seen[-1]["event"] != "done":
                seen.append(_next_event(lines, pings=False))
            assert seen[0]["event"] == "choice_resolved"
            assert all(int(e["id"]) > int(first["id"]) for e in seen)
            # Still open after done: the next turn appears here too (without the POST's own stream).
            assert world.send(loop_id, "what is 9*9")[-1].event == "done"
            later = []
            while not later or later[-1]["event"] != "done":
                later.append(_next_event(lines, pings=False))
            assert later[0]["event"] == "started"


def test_watching_an_idle_loop_pings_and_resumes_with_last_event_id(world):
    loop_id = world.new_loop()
    first_turn = world.send(loop_id, "what is 1+1")
    with world.client.stream("GET", f"{P}/loops/{loop_id}/events", headers=world.bearer()) as watch:
        ping = _next_event(watch.iter_lines())
        assert ping == {"id": first_turn[-1].id, "event": "ping", "data": {}}  # no snapshot when idle
    # Resuming after the first turn's `started` replays the rest of the log, no snapshot.
    headers = {**world.bearer(), "Last-Event-ID": first_turn[0].id}
    with world.client.stream("GET", f"{P}/loops/{loop_id}/events", headers=headers) as watch:
        lines = watch.iter_lines()
        replayed = []
        while not replayed or replayed[-1]["event"] != "done":
            replayed.append(_next_event(lines, pings=False))
    assert [e["id"] for e in replayed] == [e.id for e in first_turn[1:]]


def test_an_idle_post_stream_gets_pings_carrying_the_last_id(world):
    loop_id = world.new_loop()
    with world.stream(loop_id, ASK, permission_mode="default") as source:
        events = source.iter_sse()
        asked = until(events, "requires_choice")
        ping = next(events)
        assert (ping.event, ping.data, ping.id) == ("ping", "{}", asked[-1].id)
    world.client.post(f"{P}/loops/{loop_id}/interrupt", headers=world.bearer())


def test_an_unanswered_question_times_out(make_client, world):
    client = make_client(loopat_question_timeout_seconds=0.3, loopat_local_delta_ms=0)
    loop_id = world.new_loop()
    world.client = client
    events = world.send(loop_id, ASK, permission_mode="default")
    names = [e.event for e in events]
    resolved = next(data(e) for e in events if e.event == "choice_resolved")
    assert resolved["source"] == "timeout" and names[-1] == "done"
    assert "No answer came" in "".join(data(e)["text"] for e in events if e.event == "assistant_delta")


def test_an_agent_failure_ends_the_turn_with_an_error_event(make_client, world):
    world.client = make_client(loopat_agent="anthropic", loopat_anthropic_api_key="")
    loop_id = world.new_loop()
    events = world.send(loop_id, "hello")
    assert [e.event for e in events] == ["started", "error"]
    assert data(events[-1]) == {"code": "agent_error",
                                "message": "LOOPAT_AGENT=anthropic needs LOOPAT_ANTHROPIC_API_KEY"}
    assert world.loop(loop_id)["busy"] is False


def test_errors_before_the_stream_opens_are_json(world):
    loop_id = world.new_loop()
    url = f"{P}/loops/{loop_id}/messages"

    def post(body=None, **headers):
        return world.client.post(url, json=body, headers={**world.bearer(), **headers})

    cases = [
        (post({}), "missing_content"),
        (post({"content": ""}), "missing_content"),
        (post({"content": "x" * (1024 * 1024 + 1)}), "content_too_large"),
        (post({"content": "hi"}, **{"Idempotency-Key": "k" * 257}), "idempotency_key_too_long"),
        (post({"content": "hi", "permission_mode": "yolo"}), "invalid_request"),
    ]
    for r, code in cases:
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/json"), r.text
        assert r.json()["error"]["code"] == code and r.json()["error"]["type"] == "invalid_request_error"
    r = world.answer(loop_id, "choice_x", {"neither": True})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_choice_payload"
    # A 256-character key and a 1 MB message are fine.
    with world.stream(loop_id, "x" * (1024 * 1024), key="k" * 256) as source:
        assert source.response.status_code == 200
        assert source.response.headers["cache-control"] == "no-cache"
    assert world.wait_idle(loop_id)["turn_count"] == 1


def _next_event(lines, pings: bool = True) -> dict:
    """The next event from raw SSE lines (skipping pings unless `pings`)."""
    event = {}
    for line in lines:
        if not line:
            if event and (pings or event.get("event") != "ping"):
                return event
            event = {}
            continue
        field, _, value = line.partition(": ")
        event[field] = json.loads(value) if field == "data" else value
    raise AssertionError("stream ended")


def test_closing_the_stream_leaves_the_turn_to_finish(world):
    loop_id = world.new_loop()
    with world.stream(loop_id, ASK, permission_mode="default") as source:
        asked = data(until(source.iter_sse(), "requires_choice")[-1])
    assert world.answer(loop_id, asked["choice_id"], {"answers": {}}).status_code == 202
    state = world.wait_idle(loop_id)
    assert state["turn_count"] == 1
    deadline = time.monotonic() + 5
    with world.client.stream("GET", f"{P}/loops/{loop_id}/events",
                             headers={**world.bearer(), "Last-Event-ID": "0"}) as watch:
        lines = watch.iter_lines()
        names = []
        while "done" not in names and time.monotonic() < deadline:
            names.append(_next_event(lines, pings=False)["event"])
    assert names[0] == "started" and names[-1] == "done"



def test_a_last_event_id_that_is_not_an_ascii_event_id_is_ignored(make_client, world):
    """"²" (the latin-1 header byte 0xB2) is str.isdigit() but no integer: the stream behaves as
    without the header, on the watch and on a replay by Idempotency-Key. The raw bytes go through
    httpx's ASGITransport (the test client re-encodes a non-ASCII header as UTF-8), which reads
    a response to its end: the watch is bounded by LOOPAT_WATCH_MAX_SECONDS."""
    world.client = make_client(**FAST, loopat_watch_max_seconds=0.5)
    loop_id = world.new_loop()
    first_turn = world.send(loop_id, "what is 1+1", key="k1")

    async def raw(method: str, path: str, last_event_id: bytes, body: dict | None = None) -> list[dict]:
        transport = httpx.ASGITransport(app=world.client.app)
        headers = {**world.bearer(), "Idempotency-Key": "k1", "Last-Event-ID": last_event_id}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            r = await http.request(method, f"{P}{path}", headers=headers, json=body)
        assert r.status_code == 200, r.text
        lines, events = iter(r.text.splitlines()), []
        with contextlib.suppress(AssertionError):  # the stream's end
            while True:
                events.append(_next_event(lines))
        return [e for e in events if "event" in e]  # not the watch's closing `retry:`

    for junk in (b"\xb2", b"\xd9\xa3", b"1\xb2", b"9" * 40, b"-1", b"abc"):
        watched = anyio.run(raw, "GET", f"/loops/{loop_id}/events", junk)
        # as without Last-Event-ID: an idle loop pings with its last id, nothing replayed
        assert watched[0] == {"id": first_turn[-1].id, "event": "ping", "data": {}}, (junk, watched)
        assert {e["event"] for e in watched} == {"ping"}, junk
        replay = anyio.run(raw, "POST", f"/loops/{loop_id}/messages", junk, {"content": "what is 1+1"})
        assert [e["id"] for e in replay if e["event"] != "ping"] == [e.id for e in first_turn], junk
    resumed = anyio.run(raw, "GET", f"/loops/{loop_id}/events", first_turn[0].id.encode())
    assert [e["id"] for e in resumed if e["event"] != "ping"] == [e.id for e in first_turn[1:]]
    assert world.loop(loop_id)["turn_count"] == 1


def test_an_engine_started_without_lifespan_events_ends_with_its_event_loop(make_client, world):
    """A server that runs the app without lifespan events starts the engine on first use
    (handlers/loopat/engine.py: for_running_loop); when that event loop is gone, nothing can
    stop the engine, so its own threads wind it down instead of polling forever."""
    world.client = make_client(**FAST, loopat_watch_max_seconds=0.2)
    loop_id = world.new_loop()

    def engine_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name in ("loopat-tail", "loopat-writer")}

    before = engine_threads()

    async def watch() -> int:
        transport = httpx.ASGITransport(app=world.client.app)  # no lifespan events
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            r = await http.get(f"{P}/loops/{loop_id}/events", headers=world.bearer())
        return r.status_code

    assert anyio.run(watch) == 200
    started = engine_threads() - before
    assert {t.name for t in started} == {"loopat-tail", "loopat-writer"}  # an engine of its own
    for thread in started:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in started)
