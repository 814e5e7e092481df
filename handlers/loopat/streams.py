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
    transaction wrote (nothing else of it can be older), so no backlog read is needed."""
    try:
        if written is not None:
            for event in written:
                yield _sent(subscriber, event)
                after = event.seq
        while written is None:
            backlog = await anyio.to_thread.run_sync(turns.read, turns.turn_events, turn_id, after, PAGE)
            for event in backlog:
                yield _sent(subscriber, event)
                after = event.seq
                if event.name in TERMINAL_EVENTS:
                    return
            if len(backlog) < PAGE:
                break
        while True:
            item = await subscriber.next()
            if item is PING:
                yield _ping(subscriber, after)
                continue
            if item.seq <= after or item.turn != turn_id:
                continue
            yield _sent(subscriber, item)
            after = item.seq
            if item.name in TERMINAL_EVENTS:
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
                for event in backlog:
                    yield _sent(subscriber, event)
                    after = event.seq
                if len(backlog) < PAGE:
                    break
        else:
            after, snapshot = await anyio.to_thread.run_sync(turns.read, turns.snapshot, loop_id)
            if snapshot is not None:
                yield _sent(subscriber, LogEvent(after, loop_id, snapshot["turn_id"], "snapshot",
                                                 turns.encode(snapshot)))
        while (item := await _next(subscriber, deadline)) is not None:
            if item is PING:
                yield _ping(subscriber, after)
            elif item.seq > after:
                yield _sent(subscriber, item)
                after = item.seq
        yield b"retry: 1000\n\n"  # resume with Last-Event-ID; nothing is lost
    finally:
        engine.unsubscribe(subscriber)


async def _next(subscriber: Subscriber, deadline: float | None) -> LogEvent | object | None:
    """The next item, or None once `deadline` has passed."""
    if deadline is None:
        return await subscriber.next()
    with anyio.move_on_after(deadline - time.monotonic()):
        return await subscriber.next()
    return None


def _sent(subscriber: Subscriber, event: LogEvent) -> bytes:
    subscriber.last_sent = time.monotonic()
    return frame(event.seq, event.name, event.data)


def _ping(subscriber: Subscriber, after: int) -> bytes:
    subscriber.last_sent = time.monotonic()
    return frame(after, "ping", "{}")
