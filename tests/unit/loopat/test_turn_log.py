"""The turn log's transactions on a real SQLite file, without a server: queueing, leases and
takeover, guarded writes, choices, interrupt, idempotency, pruning."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from handlers.loopat import accounts, records, turns
from handlers.loopat.engine import Writer
from server.errors import ApiError
from storage import db
from storage.loopat import Choice, Event, Loop, Turn

LEASE = 10.0


@pytest.fixture
def loop_id(database) -> str:
    accounts.create_user("alice", "alice-password")
    accounts.create_user("bob", "bob-password")
    return records.create_loop("alice", {"title": "t"}).id


def enqueue(loop_id, content="hi", *, key=None, runner="A", now=1000.0, user="alice", mode=None):
    return turns.write(turns.enqueue, loop_id, user, content, mode, key, runner, now=now, lease_seconds=LEASE,
                       window_hours=24)


def start(loop_id, runner="A", now=1000.0):
    return turns.write(turns.start_next, loop_id, runner, now=now, lease_seconds=LEASE)


def names(turn_id) -> list[str]:
    return [e.name for e in turns.turn_events(turn_id)]


def test_the_first_message_claims_the_idle_loop_and_starts_at_once_later_ones_queue(loop_id):
    first = enqueue(loop_id)
    assert first.claimed and not first.replay and first.started.turn_id == first.turn_id
    assert [e.name for e in first.events] == names(first.turn_id) == ["started"]  # in the same transaction
    second = enqueue(loop_id, "second", runner="B")
    assert not second.claimed and second.started is None  # A holds a live lease
    third = enqueue(loop_id, "third", runner="A")
    assert third.claimed and third.started is None  # A already holds it and runs the queue
    assert [json.loads(e.data) for e in turns.turn_events(second.turn_id)] == [{"position": 1}]
    assert [json.loads(e.data) for e in third.events] == [{"position": 2}]
    state = turns.read(turns.runtime, loop_id)
    assert state["busy"] and state["queue_depth"] == 2 and state["current_turn"]["turn_id"] == first.turn_id


def test_start_next_runs_fifo_and_gives_the_lease_back_when_empty(loop_id):
    a, b = enqueue(loop_id, "a"), enqueue(loop_id, "b")
    started = a.started
    assert started.turn_id == a.turn_id and started.content == "a"
    assert started.permission_mode == "bypassPermissions" and started.loop.turn_count == 1
    assert start(loop_id) is None  # one turn at a time: "a" is running
    assert start(loop_id, runner="B") is None  # not B's lease
    assert turns.write(turns.append, loop_id, a.turn_id, [("done", {"turn_id": a.turn_id})], finish="done",
                       assistant_text="reply a")
    second = start(loop_id)
    assert second.turn_id == b.turn_id and second.loop.turn_count == 2
    assert turns.read(turns.history, loop_id) == [("a", "reply a")]  # what the runner hands the agent
    assert turns.write(turns.append, loop_id, b.turn_id, [("done", {})], finish="done")
    assert start(loop_id) is None
    assert Loop.get(Loop.id == loop_id).runner is None


def test_writes_for_a_turn_that_ended_elsewhere_are_refused(loop_id):
    queued = enqueue(loop_id)  # an idle loop: started at once
    assert turns.write(turns.append, loop_id, queued.turn_id, [("assistant_delta", {"text": "x"})])
    assert turns.write(turns.interrupt, loop_id) == [queued.turn_id]
    # The runner's next write and its `done` are refused: exactly one terminal event.
    assert not turns.write(turns.append, loop_id, queued.turn_id, [("assistant_delta", {"text": "y"})])
    assert not turns.write(turns.append, loop_id, queued.turn_id, [("done", {})], finish="done")
    assert names(queued.turn_id) == ["started", "assistant_delta", "interrupted"]
    assert Turn.get(Turn.id == queued.turn_id).state == "interrupted"
    assert turns.write(turns.interrupt, loop_id) == []  # idempotent


def test_interrupt_drops_the_queue_and_cancels_pending_choices(loop_id):
    running, waiting = enqueue(loop_id), enqueue(loop_id, "later")
    assert turns.write(turns.open_choice, loop_id, running.turn_id, "choice_toolu_1", "permission", {"tool": "X"}, [])
    assert turns.write(turns.interrupt, loop_id) == [running.turn_id, waiting.turn_id]
    assert Choice.get_by_id("choice_toolu_1").state == "canceled"
    assert not turns.read(turns.runtime, loop_id)["busy"]
    with pytest.raises(ApiError) as error:
        turns.write(turns.answer_choice, loop_id, "choice_toolu_1", {"allow": True})
    assert error.value.code == "choice_not_found"


def test_choices_resolve_once_and_check_their_shape(loop_id):
    queued = enqueue(loop_id)  # an idle loop: started at once
    turns.write(turns.open_choice, loop_id, queued.turn_id, "choice_toolu_q", "question", {"questions": []},
                [("assistant_delta", {"text": "first "})])
    assert names(queued.turn_id)[-2:] == ["assistant_delta", "requires_choice"]
    assert turns.read(turns.runtime, loop_id)["current_turn"]["pending_choice_id"] == "choice_toolu_q"
    for body in ({"allow": True}, {"answers": {"q": 1}}, {"answers": "x"}, {}):
        with pytest.raises(ApiError) as error:
            turns.write(turns.answer_choice, loop_id, "choice_toolu_q", body)
        assert (error.value.status_code, error.value.code) == (400, "invalid_choice_payload")
    turns.write(turns.answer_choice, loop_id, "choice_toolu_q", {"answers": {"q": "a"}})
    assert turns.read(turns.choice_answer, "choice_toolu_q") == {"answers": {"q": "a"}}
    resolved = turns.turn_events(queued.turn_id)[-1]
    assert (resolved.name, json.loads(resolved.data)) == ("choice_resolved", {"choice_id": "choice_toolu_q",
                                                                             "source": "api"})
    assert not turns.write(turns.expire_choice, "choice_toolu_q")  # already answered
    with pytest.raises(ApiError):
        turns.write(turns.answer_choice, loop_id, "choice_toolu_q", {"answers": {"q": "b"}})
    assert turns.read(turns.runtime, loop_id)["current_turn"]["pending_choice_id"] is None


def test_an_expired_lease_is_taken_over_and_the_lost_turn_ended(loop_id):
    first, second = enqueue(loop_id, runner="A", now=1000), enqueue(loop_id, "next", runner="A", now=1000)
    assert turns.read(turns.stale_loops, 1005) == []  # A's lease is live
    assert turns.read(turns.stale_loops, 1000 + LEASE + 1) == [loop_id]
    assert not turns.write(turns.claim, loop_id, "B", now=1005, lease_seconds=LEASE)
    assert turns.write(turns.claim, loop_id, "B", now=1000 + LEASE + 1, lease_seconds=LEASE)
    lost = turns.turn_events(first.turn_id)[-1]
    assert (lost.name, json.loads(lost.data)["code"]) == ("error", "sandbox_evicted")
    # A, back from the dead, cannot write for the turn, nor start the next one.
    assert not turns.write(turns.append, loop_id, first.turn_id, [("done", {})], finish="done")
    assert start(loop_id, "A", now=1012) is None
    assert start(loop_id, "B", now=1012).turn_id == second.turn_id


def test_renew_keeps_a_lease_alive_and_abandon_frees_it(loop_id):
    enqueue(loop_id, runner="A", now=1000)
    turns.write(turns.renew, "A", [loop_id], now=1008, lease_seconds=LEASE)
    assert turns.read(turns.stale_loops, 1000 + LEASE + 1) == []
    turns.write(turns.abandon, "A")
    assert Loop.get(Loop.id == loop_id).runner is None
    assert turns.read(turns.stale_loops, 1009) == []  # nothing queued, nothing running: no work left


def test_idempotency_keys_replay_conflict_and_expire(loop_id):
    first = enqueue(loop_id, "x", key="k")
    assert enqueue(loop_id, "x", key="k").replay
    with pytest.raises(ApiError) as error:
        enqueue(loop_id, "y", key="k")
    assert (error.value.status_code, error.value.code) == (409, "idempotency_key_reused")
    with pytest.raises(ApiError):
        enqueue(loop_id, "x", key="k", mode="plan")
    bobs = records.create_loop("bob", {}).id
    assert not enqueue(bobs, "y", key="k", user="bob").replay  # keys are per user
    # After the replay window the key is free again and names a new turn.
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    Turn.update(created_at=old).where(Turn.id == first.turn_id).execute()
    again = enqueue(loop_id, "y", key="k")
    assert not again.replay and again.turn_id != first.turn_id
    assert Turn.get(Turn.id == first.turn_id).idempotency_key is None


def test_enqueue_checks_the_loop(loop_id):
    for user, loop, code in (("bob", loop_id, "not_loop_owner"), ("alice", "loop_missing", "loop_not_found")):
        with pytest.raises(ApiError) as error:
            enqueue(loop, user=user)
        assert error.value.code == code
    turns.write(turns.interrupt, loop_id, archive=True)
    with pytest.raises(ApiError) as error:
        enqueue(loop_id)
    assert error.value.code == "loop_archived"


def test_snapshot_reads_text_so_far_at_its_cursor(loop_id):
    queued = enqueue(loop_id)  # an idle loop: started at once
    turns.write(turns.append, loop_id, queued.turn_id, [("assistant_delta", {"text": "Hel"}),
                                                        ("thinking_delta", {"text": "hm"}),
                                                        ("assistant_delta", {"text": "lo"})])
    cursor, snap = turns.read(turns.snapshot, loop_id)
    assert cursor == turns.max_seq()
    assert snap == {"turn_id": queued.turn_id, "assistant_text_so_far": "Hello", "pending_choice_id": None}


def test_prune_drops_old_turns_events_but_never_the_newest(loop_id):
    queued = enqueue(loop_id)  # an idle loop: started at once
    turns.write(turns.append, loop_id, queued.turn_id, [("done", {})], finish="done")
    newest, stored = turns.max_seq(), len(turns.events_after(0))
    assert stored == 2  # started, done
    assert turns.write(turns.prune, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)) == 0  # still in its window
    removed = turns.write(turns.prune, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert removed == stored - 1
    assert [e.seq for e in turns.events_after(0)] == [newest]
    later = enqueue(loop_id)
    assert later.started is not None
    assert turns.turn_events(later.turn_id)[0].seq > newest  # ids never restart


def test_the_writer_commits_in_groups_and_isolates_failures(loop_id):
    """Group commit: many submissions share transactions, each in its own savepoint."""
    queued = enqueue(loop_id)  # an idle loop: started at once

    async def main():
        writer = Writer(asyncio.get_running_loop(), on_commit=lambda: None)
        writer.start()

        def fail():
            Event.insert(loop=loop_id, turn=queued.turn_id, name="x", data="{}").execute()
            raise RuntimeError("boom")

        futures = [writer.submit(turns.append, loop_id, queued.turn_id, [("assistant_delta", {"text": str(i)})])
                   for i in range(50)]
        futures.insert(25, writer.submit(fail))
        results = await asyncio.gather(*futures, return_exceptions=True)
        await asyncio.to_thread(writer.stop)
        return results

    with db.database.connection_context():
        results = asyncio.run(main())
    assert isinstance(results[25], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 25] == [True] * 50
    texts = [json.loads(e.data)["text"] for e in turns.turn_events(queued.turn_id) if e.name == "assistant_delta"]
    assert texts == [str(i) for i in range(50)]  # in submission order, the failed one left nothing
    assert "x" not in names(queued.turn_id)


def test_our_own_expired_lease_is_a_takeover_too(loop_id):
    """A runner task of this very process that died stops renewing: the janitor's claim (same
    identity, expired lease) ends its turn instead of leaving it running forever."""
    stuck = enqueue(loop_id, runner="A", now=1000)
    assert turns.write(turns.claim, loop_id, "A", now=1005, lease_seconds=LEASE)  # ours and live: renewed
    assert Turn.get(Turn.id == stuck.turn_id).state == "running"
    assert turns.write(turns.claim, loop_id, "A", now=1005 + LEASE + 1, lease_seconds=LEASE)
    assert Turn.get(Turn.id == stuck.turn_id).state == "error"
    assert json.loads(turns.turn_events(stuck.turn_id)[-1].data)["code"] == "sandbox_evicted"


def test_release_ends_a_failed_runners_turn_and_frees_the_lease(loop_id):
    failed, waiting = enqueue(loop_id, runner="A"), enqueue(loop_id, "next", runner="A")
    turns.write(turns.release, loop_id, "A", {"code": "agent_error", "message": "x"})
    assert names(failed.turn_id)[-1] == "error" and Loop.get(Loop.id == loop_id).runner is None
    assert turns.read(turns.stale_loops, 1001) == [loop_id]  # the queue waits for any janitor
    assert turns.write(turns.claim, loop_id, "B", now=1001, lease_seconds=LEASE)
    assert start(loop_id, "B", now=1001).turn_id == waiting.turn_id
