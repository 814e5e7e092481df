"""The turn log: every change to a loop's turns, as short database transactions.

Nothing about a turn lives only in one process's memory. A turn is a row (queued -> running
-> done | interrupted | error); everything a stream shows is an event row whose integer
`seq` is the SSE id; a choice is a row the agent waits on. So a client may attach, replay or
answer through any worker, and a turn outlives the request that sent it.

One process at a time runs a loop's turns: the one holding the loop's lease (`runner`,
`lease_until`), renewed by its engine (handlers/loopat/engine.py). Whoever takes over an
expired lease first ends the turn the dead runner had started (`error`, code
`sandbox_evicted`), then runs the queue.

Terminal states are written exactly once: every write on behalf of a running turn is guarded
by `state = 'running'` in the same transaction, so an interrupt posted to another worker and
the runner's own `done` cannot both land.

Functions here run inside a transaction the caller opened (`with db.write():`), except the
read helpers; `write(fn, ...)`/`read(fn, ...)` open one (and a connection) for a thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import typing as t
import uuid
from dataclasses import dataclass, field

from handlers.loopat import sql
from server.errors import ApiError
from storage import db
from storage.base import utcnow
from storage.loopat import ACTIVE_STATES, Choice, Event, Loop, Turn

HISTORY_TURNS = 20  # earlier turns an agent is given as conversation history
LOST = {"code": "sandbox_evicted", "message": "the worker running this turn stopped; send the message again"}
TERMINAL_EVENTS = ("done", "interrupted", "error")
DELTA_EVENTS = ("assistant_delta", "thinking_delta")


class LogEvent(t.NamedTuple):
    """One event as stored; `data` is its JSON text, sent as is."""

    seq: int
    loop: str
    turn: str
    name: str
    data: str


@dataclass(frozen=True)
class Enqueued:
    turn_id: str
    loop_id: str
    replay: bool  # the Idempotency-Key named an existing turn: stream it, send nothing
    claimed: bool  # this process now holds the loop's lease and must run its queue
    started: StartedTurn | None = None  # the loop was idle: the turn started in the same transaction
    events: list[LogEvent] = field(default_factory=list)  # what this transaction wrote (queued / started)


@dataclass(frozen=True)
class LoopView:
    """What an agent may know of its loop (never the caller's metadata: the spec hides it)."""

    id: str
    title: str
    created_at: str
    created_by: str
    vault: str
    profiles: list[str]
    repo: str | None
    turn_count: int


@dataclass(frozen=True)
class StartedTurn:
    turn_id: str
    loop: LoopView
    content: str
    permission_mode: str
    history: list[tuple[str, str]] = field(default_factory=list)  # (user content, assistant text), loaded
    # by the runner before the agent starts (kept out of the request's transaction)
    events: list[LogEvent] = field(default_factory=list)  # `started`


def write(fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
    """Run `fn` in one write transaction on a connection of this thread."""
    with db.database.connection_context(), db.write():
        return fn(*args, **kwargs)


def read(fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
    """Run `fn` on one consistent snapshot (a read transaction) on a connection of this thread."""
    with db.database.connection_context(), db.database.atomic():
        return fn(*args, **kwargs)


def encode(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------ ids and ownership


def loop_id_from_api(value: str) -> str:
    """Path ids are accepted with or without their prefix, as upstream does."""
    return value if value.startswith("loop_") else f"loop_{value}"


def choice_id_from_api(value: str) -> str:
    return value if value.startswith("choice_") else f"choice_{value}"


def new_loop_id() -> str:
    return f"loop_{uuid.uuid4()}"


def new_turn_id() -> str:
    return "turn_" + secrets.token_hex(10)


def owned_loop(loop_id: str, user: str) -> Loop:
    """The loop, or 404 `loop_not_found` / 403 `not_loop_owner` (upstream's order)."""
    loop = sql.loop_model(loop_id_from_api(loop_id))
    if loop is None:
        raise ApiError(404, "loop_not_found", "no loop with this id")
    if loop.user != user:
        raise ApiError(403, "not_loop_owner", "this loop belongs to another user")
    return loop


def request_hash(loop_id: str, content: str, permission_mode: str | None) -> str:
    """What an Idempotency-Key is bound to: the loop and the whole body."""
    canonical = json.dumps([loop_id, content, permission_mode], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ------------------------------------------------------------------ sending a message


def enqueue(loop_id: str, user: str, content: str, permission_mode: str | None, key: str | None,
            claimant: str, *, now: float, lease_seconds: float, window_hours: float) -> Enqueued:
    """Record a message as a turn (or find the turn its Idempotency-Key names) and try to take
    the loop's lease for `claimant`; on an idle loop the turn starts in this transaction.
    Raises the documented 400/403/404/409. (Hot path: hand-written SQL, see sql.py.)"""
    loop = sql.loop_row(loop_id_from_api(loop_id))
    if loop is None:
        raise ApiError(404, "loop_not_found", "no loop with this id")
    if loop.user != user:
        raise ApiError(403, "not_loop_owner", "this loop belongs to another user")
    if loop.archived:
        raise ApiError(400, "loop_archived", "this loop is archived")
    digest = request_hash(loop.id, content, permission_mode)
    if key is not None:
        cutoff = utcnow() - dt.timedelta(hours=window_hours)
        # A key older than the replay window is free again.
        Turn.update(idempotency_key=None).where(
            (Turn.user == user) & (Turn.idempotency_key == key) & (Turn.created_at < cutoff)).execute()
        prior = Turn.get_or_none((Turn.user == user) & (Turn.idempotency_key == key))
        if prior is not None:
            if prior.request_hash != digest:
                raise ApiError(409, "idempotency_key_reused", "this Idempotency-Key was used with a different body")
            return Enqueued(prior.id, prior.loop, replay=True, claimed=False)
    waiting, running = sql.active_counts(loop.id)
    idle = not (waiting or running)
    claimed = sql.take_lease(loop.id, claimant, now + lease_seconds, now, idle, permission_mode)
    if not claimed and permission_mode is not None:
        sql.set_permission_mode(loop.id, permission_mode)  # upstream: the mode persists for the loop
    if claimed and loop.runner not in (None, claimant) and running:
        _end_lost_turns(loop.id)  # a takeover: the dead runner's turn ends; ours waits its turn
    start_now = claimed and idle  # an idle loop starts the turn in this very transaction
    turn_id = new_turn_id()
    sql.insert_turn(turn_id, loop.id, user, content, permission_mode, key, digest,
                    "running" if start_now else "queued", claimant if start_now else None, utcnow())
    if not start_now:
        event = _event(loop.id, turn_id, "queued", {"position": waiting + 1}) if waiting or running else None
        return Enqueued(turn_id, loop.id, replay=False, claimed=claimed, events=[event] if event else [])
    started = _event(loop.id, turn_id, "started", {"turn_id": turn_id, "cold_start": False})
    view = LoopView(loop.id, loop.title, loop.created_at.isoformat(), loop.user, loop.vault,
                    json.loads(loop.profiles), loop.repo, loop.turn_count + 1)
    turn = StartedTurn(turn_id, view, content, permission_mode or loop.permission_mode, events=[started])
    return Enqueued(turn_id, loop.id, replay=False, claimed=True, started=turn, events=[started])


# ------------------------------------------------------------------ the runner's side


def claim(loop_id: str, claimant: str, *, now: float, lease_seconds: float) -> bool:
    """Take the loop's lease when nobody holds a live one (or `claimant` already does). A
    takeover from a runner whose lease ran out first ends the turn that runner had started."""
    before = Loop.get_or_none(Loop.id == loop_id)
    if before is None:
        return False
    taken = Loop.update(runner=claimant, lease_until=now + lease_seconds).where(
        (Loop.id == loop_id)
        & (Loop.runner.is_null() | (Loop.lease_until < now) | (Loop.runner == claimant))).execute()
    # A takeover: from another runner, or from our own that stopped renewing (its task died).
    if taken and before.runner is not None and (before.runner != claimant or (before.lease_until or 0) < now):
        _end_lost_turns(loop_id)
    return bool(taken)


def release(loop_id: str, runner: str, error: dict) -> None:
    """A runner that failed: end its started turn with `error` and free the lease, so the queue
    moves on (the janitor of any worker picks it up)."""
    for turn in Turn.select(Turn.id).where((Turn.loop == loop_id) & (Turn.state == "running")
                                           & (Turn.runner == runner)):
        _finish(loop_id, turn.id, "error", error)
    Loop.update(runner=None, lease_until=None).where((Loop.id == loop_id) & (Loop.runner == runner)).execute()


def history(loop_id: str, limit: int = HISTORY_TURNS) -> list[tuple[str, str]]:
    """The loop's finished exchanges, oldest first: (user content, assistant text)."""
    rows = (Turn.select(Turn.content, Turn.assistant_text)
            .where((Turn.loop == loop_id) & (Turn.state == "done")).order_by(Turn.seq.desc()).limit(limit))
    return [(row.content, row.assistant_text or "") for row in rows][::-1]


def start_next(loop_id: str, runner: str, *, now: float, lease_seconds: float) -> StartedTurn | None:
    """Start the loop's oldest queued turn; with none left, give the lease back (in the same
    transaction, so a message queued concurrently is either seen here or claims the lease)."""
    loop = Loop.get_or_none(Loop.id == loop_id)
    if loop is None or loop.runner != runner:
        return None
    if Turn.select().where((Turn.loop == loop_id) & (Turn.state == "running")).exists():
        return None  # one turn at a time; the lease stays with the runner driving it
    turn = (Turn.select().where((Turn.loop == loop_id) & (Turn.state == "queued"))
            .order_by(Turn.seq).first())
    if turn is None:
        Loop.update(runner=None, lease_until=None).where((Loop.id == loop_id) & (Loop.runner == runner)).execute()
        return None
    Turn.update(state="running", started_at=utcnow(), runner=runner).where(Turn.id == turn.id).execute()
    Loop.update(turn_count=Loop.turn_count + 1, lease_until=now + lease_seconds).where(Loop.id == loop_id).execute()
    started = _event(loop_id, turn.id, "started", {"turn_id": turn.id, "cold_start": False})
    view = LoopView(loop.id, loop.title, loop.created_at.isoformat(), loop.user, loop.vault,
                    json.loads(loop.profiles), loop.repo, loop.turn_count + 1)
    return StartedTurn(turn.id, view, turn.content, turn.permission_mode or loop.permission_mode, events=[started])


def append(loop_id: str, turn_id: str, events: list[tuple[str, dict]], *, finish: str | None = None,
           assistant_text: str | None = None) -> bool:
    """Add events of a running turn, and end it when `finish` is given (its terminal event must
    be the last of `events`). False when the turn is no longer running (interrupted elsewhere)."""
    if not sql.still_running(turn_id):
        return False
    if events:
        sql.insert_events([(loop_id, turn_id, name, encode(data)) for name, data in events])
    if finish is not None:
        Turn.update(state=finish, ended_at=utcnow(), pending_choice=None, assistant_text=assistant_text).where(
            Turn.id == turn_id).execute()
        Choice.update(state="canceled").where((Choice.turn == turn_id) & (Choice.state == "pending")).execute()
    return True


def open_choice(loop_id: str, turn_id: str, choice_id: str, kind: str, payload: dict,
                events: list[tuple[str, dict]]) -> bool:
    """Pending events, then the choice and its requires_choice event (False: turn ended)."""
    if not append(loop_id, turn_id, events):
        return False
    sql.insert_choice(choice_id, loop_id, turn_id, kind, encode(payload), utcnow())
    _event(loop_id, turn_id, "requires_choice", {"choice_id": choice_id, "kind": kind, "payload": payload})
    return True


def expire_choice(choice_id: str) -> bool:
    """Close a choice nobody answered in time (the agent treats it as a deny / no answer)."""
    return _resolve(choice_id, "expired", None, "timeout")


def choice_answer(choice_id: str) -> dict | None:
    row = Choice.get_or_none(Choice.id == choice_id)
    return json.loads(row.answer) if row is not None and row.answer else None


def renew(runner: str, loop_ids: t.Iterable[str], *, now: float, lease_seconds: float) -> None:
    ids = list(loop_ids)
    for start in range(0, len(ids), 500):
        Loop.update(lease_until=now + lease_seconds).where(
            (Loop.runner == runner) & Loop.id.in_(ids[start:start + 500])).execute()


def abandon(runner: str) -> None:
    """A runner going away on purpose: end its started turns and free its leases at once."""
    held = [row.id for row in Loop.select(Loop.id).where(Loop.runner == runner)]
    for turn in Turn.select(Turn.id, Turn.loop).where(Turn.loop.in_(held) & (Turn.state == "running")):
        _finish(turn.loop, turn.id, "error", LOST)
    Loop.update(runner=None, lease_until=None).where(Loop.runner == runner).execute()


def stale_loops(now: float, limit: int = 100) -> list[str]:
    """Loops with work (a queued or started turn) and no live lease: an owner died, or went
    away before running its queue."""
    rows = (Turn.select(Turn.loop).distinct().join(Loop, on=(Loop.id == Turn.loop))
            .where(Turn.state.in_(ACTIVE_STATES) & (Loop.runner.is_null() | (Loop.lease_until < now)))
            .limit(limit))
    return [row.loop for row in rows]


def prune(cutoff: dt.datetime) -> int:
    """Drop the events of turns that ended before `cutoff` (their replay window is over). The
    newest event always stays, so `seq` never restarts and SSE ids are never reused."""
    newest = Event.select(Event.seq).order_by(Event.seq.desc()).limit(1).scalar() or 0
    ended = Turn.select(Turn.id).where(Turn.ended_at < cutoff)
    return Event.delete().where(Event.turn.in_(ended) & (Event.seq < newest)).execute()


# ------------------------------------------------------------------ the API's side


def answer_choice(loop_id: str, choice_id: str, body: dict) -> None:
    """Answer a pending choice: 404 `choice_not_found` unless it is pending, 400
    `invalid_choice_payload` when the body's shape is not the one its kind takes."""
    choice = Choice.get_or_none((Choice.id == choice_id) & (Choice.loop == loop_id))
    if choice is None or choice.state != "pending":
        raise ApiError(404, "choice_not_found", "this choice is not pending (unknown or already answered)")
    answer = _answer_for(choice.kind, body)
    if not _resolve(choice.id, "answered", answer, "api"):
        raise ApiError(404, "choice_not_found", "this choice is not pending (unknown or already answered)")


def interrupt(loop_id: str, *, archive: bool = False) -> list[str]:
    """End the loop's running turn and drop its queue (each gets `interrupted`), so the loop is
    idle again; with `archive`, also archive it (DELETE). Idempotent. Returns the turns ended."""
    ended = []
    for turn in (Turn.select(Turn.id).where((Turn.loop == loop_id) & Turn.state.in_(ACTIVE_STATES))
                 .order_by(Turn.seq)):
        updated = Turn.update(state="interrupted", ended_at=utcnow(), pending_choice=None).where(
            (Turn.id == turn.id) & Turn.state.in_(ACTIVE_STATES)).execute()
        if updated:
            _event(loop_id, turn.id, "interrupted", {"turn_id": turn.id})
            ended.append(turn.id)
    Choice.update(state="canceled").where((Choice.loop == loop_id) & (Choice.state == "pending")).execute()
    if archive:
        Loop.update(archived=True, archived_at=utcnow()).where(
            (Loop.id == loop_id) & (Loop.archived == False)).execute()  # noqa: E712
    return ended


def runtime(loop_id: str) -> dict[str, t.Any]:
    """busy, queue_depth, turn_count and current_turn, as GET /loops/{id} reports them."""
    turn_count, active = sql.active_turns(loop_id)
    running = next((row for row in active if row.state == "running"), None)
    busy = bool(active)
    current = None
    if busy:
        current = {"turn_id": running.id if running else None,
                   "started_at": running.started_at if running else None,
                   "pending_choice_id": running.pending_choice if running else None}
    return {"busy": busy, "queue_depth": sum(row.state == "queued" for row in active),
            "turn_count": turn_count, "current_turn": current}


# ------------------------------------------------------------------ reading the log


def max_seq() -> int:
    return Event.select(Event.seq).order_by(Event.seq.desc()).limit(1).scalar() or 0


def events_after(seq: int, limit: int = 1000) -> list[LogEvent]:
    """The global tail every process follows (one primary-key range read)."""
    return [LogEvent(*row) for row in sql.events_after(seq, limit)]


def turn_events(turn_id: str, after: int = 0, limit: int = 500) -> list[LogEvent]:
    query = (Event.select(Event.seq, Event.loop, Event.turn, Event.name, Event.data)
             .where((Event.turn == turn_id) & (Event.seq > after)).order_by(Event.seq).limit(limit))
    return [LogEvent(*row) for row in query.tuples()]


def loop_events(loop_id: str, after: int, limit: int = 500) -> list[LogEvent]:
    query = (Event.select(Event.seq, Event.loop, Event.turn, Event.name, Event.data)
             .where((Event.loop == loop_id) & (Event.seq > after)).order_by(Event.seq).limit(limit))
    return [LogEvent(*row) for row in query.tuples()]


def snapshot(loop_id: str) -> tuple[int, dict | None]:
    """(cursor, snapshot payload or None): the log position and, if a turn is running, its text
    so far up to that position. Call through `read` so both come from one snapshot."""
    cursor = max_seq()
    turn = Turn.get_or_none((Turn.loop == loop_id) & (Turn.state == "running"))
    if turn is None:
        return cursor, None
    deltas = (Event.select(Event.data)
              .where((Event.turn == turn.id) & (Event.name == "assistant_delta") & (Event.seq <= cursor))
              .order_by(Event.seq).tuples())
    text = "".join(json.loads(data)["text"] for (data,) in deltas)
    return cursor, {"turn_id": turn.id, "assistant_text_so_far": text, "pending_choice_id": turn.pending_choice}


def event_in(seq: int, *, loop_id: str | None = None, turn_id: str | None = None) -> bool:
    """Whether event `seq` belongs to the loop / turn (validates a Last-Event-ID)."""
    row = Event.get_or_none(Event.seq == seq)
    return row is not None and (loop_id is None or row.loop == loop_id) and (turn_id is None or row.turn == turn_id)


# ------------------------------------------------------------------ private


def _event(loop_id: str, turn_id: str, name: str, data: dict) -> LogEvent:
    encoded = encode(data)
    return LogEvent(sql.insert_event(loop_id, turn_id, name, encoded), loop_id, turn_id, name, encoded)


def _end_lost_turns(loop_id: str) -> None:
    for turn in Turn.select(Turn.id).where((Turn.loop == loop_id) & (Turn.state == "running")):
        _finish(loop_id, turn.id, "error", LOST)


def _finish(loop_id: str, turn_id: str, state: str, error: dict | None = None) -> None:
    Turn.update(state=state, ended_at=utcnow(), pending_choice=None).where(Turn.id == turn_id).execute()
    Choice.update(state="canceled").where((Choice.turn == turn_id) & (Choice.state == "pending")).execute()
    _event(loop_id, turn_id, "error" if error else state, error or {"turn_id": turn_id})


def _resolve(choice_id: str, state: str, answer: dict | None, source: str) -> bool:
    choice = Choice.get_or_none(Choice.id == choice_id)
    if choice is None:
        return False
    updated = Choice.update(state=state, answer=encode(answer) if answer is not None else None,
                            answered_at=utcnow()).where(
        (Choice.id == choice_id) & (Choice.state == "pending")).execute()
    if not updated:
        return False
    Turn.update(pending_choice=None).where((Turn.id == choice.turn) & (Turn.pending_choice == choice_id)).execute()
    _event(choice.loop, choice.turn, "choice_resolved", {"choice_id": choice_id, "source": source})
    return True


def _answer_for(kind: str, body: dict) -> dict:
    """The body's answer if its shape is the one `kind` takes (`allow` is checked first)."""
    if kind == "permission" and isinstance(body.get("allow"), bool):
        return {"allow": body["allow"]}
    if kind == "question" and isinstance(body.get("answers"), dict) and "allow" not in body:
        if all(isinstance(v, str) for v in body["answers"].values()):
            return {"answers": body["answers"]}
    expected = "{allow: boolean}" if kind == "permission" else "{answers: {question: answer}}"
    raise ApiError(400, "invalid_choice_payload", f"a {kind} choice takes {expected}")
