"""The two SSE streams, as async generators over the turn log.

Frames are `id: <seq>\\nevent: <name>\\ndata: <json>\\n\\n`; `seq` is the event's position in
the log, so ids are unique across all streams and a client's Last-Event-ID names exactly what
it has seen. A `ping` (data `{}`) carries the id of the last event sent.

Both streams subscribe to the engine *before* reading what is already in the log, and then
skip live events they have already sent (seq <= the last id sent): nothing is missed between
the backlog read and the live tail, and nothing is sent twice.
"""

from __future__ import annotations

import time
import typing as t

import anyio

from handlers.loopat import turns
from handlers.loopat.engine import PING, Engine, Subscriber
from handlers.loopat.turns import TERMINAL_EVENTS, LogEvent

PAGE = 500  # backlog rows per read: a long replay is sent in chunks


def frame(seq: int, name: str, data: str) -> bytes:
    return f"id: {seq}\nevent: {name}\ndata: {data}\n\n".encode()


async def turn_stream(engine: Engine, subscriber: Subscriber, turn_id: str, after: int = 0,
                      written: list[LogEvent] | None = None) -> t.AsyncIterator[bytes]:
    """POST /messages: the turn's events from `after` on (all of them for a new turn or a replay
    by Idempotency-Key), then live, until its own done, interrupted or error. `subscriber` was
    subscribed before the turn was written; for a new turn, `written` is what its request's
    transaction wrote (nothing else of it can be older), so no backlog read is needed.

    Frames ready together go out as one chunk (one socket write, not one per event)."""
    try:
        if written is not None:
            if written:
                after = written[-1].seq
                yield _chunk(subscriber, [frame(e.seq, e.name, e.data) for e in written])
        while written is None:
            backlog = await anyio.to_thread.run_sync(turns.read, turns.turn_events, turn_id, after, PAGE)
            ended = next((i for i, e in enumerate(backlog) if e.name in TERMINAL_EVENTS), None)
            backlog = backlog if ended is None else backlog[: ended + 1]
            if backlog:
                after = backlog[-1].seq
                yield _chunk(subscriber, [frame(e.seq, e.name, e.data) for e in backlog])
            if ended is not None:
                return
            if len(backlog) < PAGE:
                break
        while True:
            frames, ended = [], False
            for item in await subscriber.batch():
                if item is PING or item.seq <= after or item.turn != turn_id:
                    continue
                frames.append(frame(item.seq, item.name, item.data))
                after = item.seq
                if item.name in TERMINAL_EVENTS:
                    ended = True
                    break
            if frames:
                yield _chunk(subscriber, frames)
            elif subscriber.pinged:
                yield _chunk(subscriber, [frame(after, "ping", "{}")])
            if ended:
                return
    finally:
        engine.unsubscribe(subscriber)


async def loop_stream(engine: Engine, loop_id: str, last_event_id: int | None,
                      max_seconds: float = 0) -> t.AsyncIterator[bytes]:
    """GET /events: read-only. `snapshot` first when a turn is running (or, resuming with
    Last-Event-ID, the loop's events since that id), then every event of the loop, live. It
    does not end on done; it ends when the client leaves (or after `max_seconds`, if set)."""
    subscriber = engine.subscribe(loop_id)
    deadline = time.monotonic() + max_seconds if max_seconds > 0 else None
    try:
        if last_event_id is not None:
            after = last_event_id
            while True:
                backlog = await anyio.to_thread.run_sync(turns.read, turns.loop_events, loop_id, after, PAGE)
                if backlog:
                    after = backlog[-1].seq
                    yield _chunk(subscriber, [frame(e.seq, e.name, e.data) for e in backlog])
                if len(backlog) < PAGE:
                    break
        else:
            after, snapshot = await anyio.to_thread.run_sync(turns.read, turns.snapshot, loop_id)
            if snapshot is not None:
                yield _chunk(subscriber, [frame(after, "snapshot", turns.encode(snapshot))])
        while (items := await _batch(subscriber, deadline)) is not None:
            frames = []
            for item in items:
                if item is not PING and item.seq > after:
                    frames.append(frame(item.seq, item.name, item.data))
                    after = item.seq
            if frames:
                yield _chunk(subscriber, frames)
            elif subscriber.pinged:
                yield _chunk(subscriber, [frame(after, "ping", "{}")])
        yield b"retry: 1000\n\n"  # resume with Last-Event-ID; nothing is lost
    finally:
        engine.unsubscribe(subscriber)


async def _batch(subscriber: Subscriber, deadline: float | None) -> list | None:
    """The next items, or None once `deadline` has passed."""
    if deadline is None:
        return await subscriber.batch()
    with anyio.move_on_after(deadline - time.monotonic()):
        return await subscriber.batch()
    return None


def _chunk(subscriber: Subscriber, frames: list[bytes]) -> bytes:
    subscriber.last_sent = time.monotonic()
    subscriber.pinged = False
    return b"".join(frames)
