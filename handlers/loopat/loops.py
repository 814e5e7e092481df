"""loopat: handlers for loops operations (see specs/loopat.json).

The two streams (messages, events) are `async def`: they run on the event loop (NativeAsync)
and never hold a WSGI thread; their blocking database work goes through anyio's thread pool.
The rest are ordinary handlers on the WSGI threads. Every per-loop route answers 404
`loop_not_found` before 403 `not_loop_owner`, as upstream does.
"""

from __future__ import annotations

import time

import anyio
import flask
from connexion import context
from starlette.requests import Request
from starlette.responses import StreamingResponse

from generated.loopat.models import LoopList
from handlers.loopat import engine as engines
from handlers.loopat import records, streams, turns
from server.settings import current
from storage import db

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def get_loops(limit: int = 20, after: str | None = None, before: str | None = None,
              archived: bool = False) -> dict:
    """GET /loops: the caller's loops, newest first (no runtime fields)."""
    page = records.list_loops(_user(), limit=limit, after=after, before=before, archived=archived)
    data = [records.as_json(loop) for loop in page.loops]
    body = LoopList(data=data, has_more=page.has_more,
                    first_id=data[0]["id"] if data else None, last_id=data[-1]["id"] if data else None)
    return body.model_dump(mode="json", exclude_unset=True)


def post_loops(body: dict | None = None) -> tuple[dict, int]:
    """POST /loops: 201 with the new loop."""
    return records.as_json(records.create_loop(_user(), body or {})), 201


def get_loops_by_id(id_: str) -> dict:
    """GET /loops/{id}: the loop with its runtime state."""
    loop = turns.owned_loop(id_, _user())
    return records.as_json(loop, turns.runtime(loop.id))


def delete_loops_by_id(id_: str) -> flask.Response:
    """DELETE /loops/{id}: archive (soft, idempotent) and stop any running turn."""
    loop = turns.owned_loop(id_, _user())
    with db.write():
        turns.interrupt(loop.id, archive=True)
    engines.nudge_all()
    return flask.Response(status=204, mimetype="application/json")


async def post_loops_by_id_messages(request: Request) -> StreamingResponse:
    """POST /loops/{id}/messages: queue the message and stream its turn (SSE).

    With an Idempotency-Key seen before (same body), nothing is sent: the turn's events are
    replayed from the start (or after Last-Event-ID) and the stream attaches to it live.
    """
    user = _principal(request)
    body = await request.json()
    key = request.headers.get("idempotency-key")
    settings = current()
    engine = engines.for_running_loop()
    # Subscribed before anything is written, so no event of the new turn can be missed.
    subscriber = engine.subscribe(turns.loop_id_from_api(request.path_params["id"]))
    try:
        # Through the engine's writer: concurrent messages share one transaction (group commit).
        queued: turns.Enqueued = await engine.writer.submit(
            turns.enqueue, request.path_params["id"], user, body["content"], body.get("permission_mode"), key,
            engine.identity, now=time.time(), lease_seconds=settings.loopat_lease_seconds,
            window_hours=settings.loopat_idempotency_hours)
        if queued.claimed:
            engine.run_loop(queued.loop_id, queued.started)
        after = 0
        if queued.replay:
            resume = _last_event_id(request)
            if resume is not None and await anyio.to_thread.run_sync(
                    lambda: turns.read(turns.event_in, resume, turn_id=queued.turn_id)):
                after = resume
    except BaseException:
        engine.unsubscribe(subscriber)
        raise
    stream = streams.turn_stream(engine, subscriber, queued.turn_id, after,
                                 None if queued.replay else queued.events)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


async def get_loops_by_id_events(request: Request) -> StreamingResponse:
    """GET /loops/{id}/events: watch the loop (read-only SSE)."""
    user = _principal(request)
    loop = await anyio.to_thread.run_sync(lambda: turns.read(turns.owned_loop, request.path_params["id"], user))
    resume = _last_event_id(request)
    if resume and not await anyio.to_thread.run_sync(lambda: turns.read(turns.event_in, resume, loop_id=loop.id)):
        resume = None  # not an event of this loop: start from now, with a snapshot
    engine = engines.for_running_loop()
    stream = streams.loop_stream(engine, loop.id, resume, current().loopat_watch_max_seconds)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


def post_loops_by_id_choices_by_choice_id(id_: str, choice_id: str, body: dict) -> flask.Response:
    """POST /loops/{id}/choices/{choiceId}: answer a pending permission or question; 202."""
    loop = turns.owned_loop(id_, _user())
    with db.write():
        turns.answer_choice(loop.id, turns.choice_id_from_api(choice_id), body)
    engines.nudge_all()
    return flask.Response(status=202, mimetype="application/json")


def post_loops_by_id_interrupt(id_: str) -> flask.Response:
    """POST /loops/{id}/interrupt: 202, always (idle too). Open POST streams get `interrupted`
    and close; the queue is dropped, so the loop is idle again."""
    loop = turns.owned_loop(id_, _user())
    with db.write():
        turns.interrupt(loop.id)
    engines.nudge_all()
    return flask.Response(status=202, mimetype="application/json")


def _user() -> str:
    return context.context["token_info"]["sub"]


def _principal(request: Request) -> str:
    return request.scope["extensions"]["connexion_context"]["token_info"]["sub"]


def _last_event_id(request: Request) -> int | None:
    """The event id the client has seen; anything that is not one (ids are ASCII decimals that
    fit the log's integer) is as if the header were absent. isascii(): str.isdigit() also takes
    "²", a latin-1 header byte int() refuses."""
    value = request.headers.get("last-event-id", "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None

