"""The per-process turn engine: runs the turns of the loops this process holds a lease on, and
feeds every open stream of this process from the turn log.

One engine per worker (per event loop), started by the app's lifespan:

* the **tail** thread reads new rows of the event log every LOOPAT_POLL_MS (or at once when
  this process wrote some) with one primary-key range query, and fans them out on the event
  loop to this process's subscribers: open streams and the runners' controls. 1,000 open
  streams cost one query per tick, not 1,000.
* the **writer** thread commits the runners' writes in groups: everything submitted while the
  previous transaction ran goes into the next one (each in its own savepoint), so many busy
  turns cost a few transactions per tick, not one per delta.
* **runners**: one task per loop whose lease this process holds. It starts the loop's queued
  turns one after another and drives the agent; an interrupt written by any worker reaches it
  through the log (the `interrupted` event) and cancels the agent.
* the **janitor** (in the tail thread, every lease/3 s) renews this process's leases, takes
  over loops whose owner stopped renewing (a dead worker), and prunes old events.

Design and failure cases: docs/loopat.md, "Turn state across workers".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import threading
import time
import typing as t

from handlers.loopat import agents, turns
from handlers.loopat.turn_io import TurnControl, TurnGone, TurnIO
from handlers.loopat.turns import LogEvent, StartedTurn
from server.settings import Settings, current
from storage import db

log = logging.getLogger("pentapi.loopat")

PING = object()  # pushed to a subscriber that has been idle for a ping interval
PRUNE_EVERY_SECONDS = 3600.0


class Subscriber:
    """One open stream's inbox: log events of its loop, and PING when it has been idle."""

    __slots__ = ("loop_id", "queue", "last_sent", "pinged")

    def __init__(self, loop_id: str) -> None:
        self.loop_id = loop_id
        self.queue: asyncio.Queue = asyncio.Queue()
        self.last_sent = time.monotonic()
        self.pinged = False  # a PING arrived since the stream last sent something

    async def batch(self) -> list[LogEvent | object]:
        """Wait for the next item, then take everything else already waiting."""
        items = [await self.queue.get()]
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        if any(item is PING for item in items):
            self.pinged = True
        return items


class Writer:
    """Group commit: a thread that runs submitted turns.* functions, each in a savepoint of one
    shared write transaction, and hands the results back to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_commit: t.Callable[[], None]) -> None:
        self.loop = loop
        self.on_commit = on_commit
        self._pending: list[tuple[t.Callable, tuple, dict, asyncio.Future]] = []
        self._ready = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="loopat-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, fn: t.Callable, *args: t.Any, **kwargs: t.Any) -> asyncio.Future:
        future = self.loop.create_future()
        with self._ready:
            if self._stopped:
                raise RuntimeError("the engine is stopping")
            self._pending.append((fn, args, kwargs, future))
            self._ready.notify()
        return future

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._stopped:
                    self._ready.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            outcomes: list[tuple[asyncio.Future, bool, t.Any]] = []
            try:
                with db.database.connection_context(), db.write():
                    for fn, args, kwargs, future in batch:
                        try:
                            with db.database.atomic():  # a savepoint: one failure undoes only itself
                                outcomes.append((future, True, fn(*args, **kwargs)))
                        except Exception as exc:
                            outcomes.append((future, False, exc))
            except Exception as exc:  # the commit itself failed: nothing of the batch happened
                log.warning("turn log write failed: %s", exc)
                outcomes = [(future, False, exc) for *_, future in batch]
            self.on_commit()
            with contextlib.suppress(RuntimeError):  # the event loop is gone (shutdown)
                self.loop.call_soon_threadsafe(_settle, outcomes)


def _settle(outcomes: list[tuple[asyncio.Future, bool, t.Any]]) -> None:
    for future, ok, value in outcomes:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)


class Engine:
    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.loop = loop
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.agent = agents.make(settings)
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.runners: dict[str, asyncio.Task] = {}
        self.controls: dict[str, TurnControl] = {}
        self._wanted: set[str] = set()  # loops (re)claimed while their runner was winding down
        self._handoff: dict[str, StartedTurn] = {}  # turns a request started; their runner drives them
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.writer = Writer(loop, self.nudge)
        self._tail = threading.Thread(target=self._tail_forever, name="loopat-tail", daemon=True)
        self._ticker: asyncio.Task | None = None
        self.cursor = 0

    # ---------------------------------------------------------------- life

    def start(self) -> None:
        with db.database.connection_context():
            self.cursor = turns.max_seq()
        self.writer.start()
        self._tail.start()
        self._ticker = self.loop.create_task(self._ping_forever())

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        runners = list(self.runners.values())
        for task in runners:
            task.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        await asyncio.to_thread(self._shutdown_threads)

    def _shutdown_threads(self) -> None:
        self.writer.stop()
        self._tail.join(timeout=10)
        self._release_leases()

    def _release_leases(self) -> None:
        try:
            turns.write(turns.abandon, self.identity)  # others may run our queues at once
        except Exception:
            log.warning("could not release loopat leases", exc_info=True)

    def _orphaned(self) -> None:
        """Stop this engine's threads from its tail thread: nothing can call stop() any more."""
        self._stopping.set()
        with _engines_lock:
            if _engines.get(self.loop) is self:
                del _engines[self.loop]
        self.writer.stop()
        self._release_leases()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def nudge(self) -> None:
        """Read the log now (something was just written)."""
        self._wake.set()

    # ---------------------------------------------------------------- streams

    def subscribe(self, loop_id: str) -> Subscriber:
        subscriber = Subscriber(loop_id)
        self.subscribers.setdefault(loop_id, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        group = self.subscribers.get(subscriber.loop_id)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self.subscribers[subscriber.loop_id]

    def _fanout(self, events: list[LogEvent]) -> None:
        for event in events:
            for subscriber in self.subscribers.get(event.loop, ()):
                subscriber.queue.put_nowait(event)
            control = self.controls.get(event.turn)
            if control is not None:
                control.saw(event)

    async def _ping_forever(self) -> None:
        interval = self.settings.loopat_ping_seconds
        while True:
            await asyncio.sleep(min(1.0, interval / 4))
            due = time.monotonic() - interval
            for group in self.subscribers.values():
                for subscriber in group:
                    if subscriber.last_sent <= due:
                        subscriber.last_sent = time.monotonic()
                        subscriber.queue.put_nowait(PING)

    # ---------------------------------------------------------------- runners

    def run_loop(self, loop_id: str, started: StartedTurn | None = None) -> None:
        """Run the loop's queue here (this process has just taken its lease), beginning with
        `started` when the request's own transaction started a turn."""
        if self.stopping:
            return
        if started is not None:
            self._handoff[loop_id] = started
        self._wanted.add(loop_id)
        if loop_id not in self.runners:
            self.runners[loop_id] = self.loop.create_task(self._drive(loop_id), name=f"loopat-runner-{loop_id}")

    async def _drive(self, loop_id: str) -> None:
        try:
            while not self.stopping:
                self._wanted.discard(loop_id)
                started = self._handoff.pop(loop_id, None)
                if started is None:
                    started = await self.writer.submit(turns.start_next, loop_id, self.identity, now=time.time(),
                                                       lease_seconds=self.settings.loopat_lease_seconds)
                if started is not None:
                    await self._run_turn(started)
                elif loop_id not in self._wanted and loop_id not in self._handoff:
                    break  # lease given back; no message arrived for us meanwhile
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("loopat runner for %s failed", loop_id)
            with contextlib.suppress(Exception):
                await self.writer.submit(turns.release, loop_id, self.identity,
                                         {"code": "agent_error", "message": "the turn's runner failed"})
        finally:
            self.runners.pop(loop_id, None)  # no await since the check above: run_loop sees it gone

    async def _run_turn(self, started: StartedTurn) -> None:
        history = await asyncio.to_thread(turns.read, turns.history, started.loop.id)  # a read: no write lock
        started = dataclasses.replace(started, history=history)
        control = TurnControl()
        self.controls[started.turn_id] = control
        io = TurnIO(started, self.writer.submit, control, self.settings)
        agent = self.loop.create_task(self.agent.run(started, io))
        ended = self.loop.create_task(control.ended.wait())
        try:
            await asyncio.wait({agent, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not agent.done():  # ended elsewhere: interrupt, archive, takeover
                agent.cancel()
                await asyncio.gather(agent, return_exceptions=True)
                return
            error = agent.exception()
            if error is None:
                await io.finish("done")
            elif not isinstance(error, TurnGone):
                log.warning("loopat agent failed on %s: %s", started.turn_id, error)
                await io.finish("error", {"code": "agent_error", "message": agents.describe(error)})
        finally:
            for task in (agent, ended):
                if not task.done():
                    task.cancel()
            self.controls.pop(started.turn_id, None)

    # ---------------------------------------------------------------- the tail thread

    def _tail_forever(self) -> None:
        poll = max(0.001, self.settings.loopat_poll_ms / 1000)
        housekeeping_every = max(0.2, self.settings.loopat_lease_seconds / 3)
        next_housekeeping = 0.0
        next_prune = time.monotonic() + 60
        while not self._stopping.is_set():
            if self.loop.is_closed():  # run without lifespan events, and its loop has ended
                self._orphaned()
                return
            self._wake.wait(poll)
            self._wake.clear()
            try:
                self._read_new()
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + housekeeping_every
                    self._housekeeping()
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=self.settings.loopat_idempotency_hours)
                    turns.write(turns.prune, cutoff)
            except Exception:
                log.warning("loopat tail: database unavailable, retrying", exc_info=True)
                time.sleep(min(1.0, poll * 10))

    def _read_new(self) -> None:
        while True:
            with db.database.connection_context():
                events = turns.events_after(self.cursor)
            if not events:
                return
            self.cursor = events[-1].seq
            try:
                self.loop.call_soon_threadsafe(self._fanout, events)
            except RuntimeError:  # the event loop closed under us
                return
            if len(events) < 1000:
                return

    def _housekeeping(self) -> None:
        now = time.time()
        lease = self.settings.loopat_lease_seconds
        held = list(self.runners)
        if held:
            turns.write(turns.renew, self.identity, held, now=now, lease_seconds=lease)
        with db.database.connection_context():
            stale = turns.stale_loops(now)
        for loop_id in stale:
            if turns.write(turns.claim, loop_id, self.identity, now=now, lease_seconds=lease):
                log.info("loopat: took over %s (its runner stopped renewing its lease)", loop_id)
                self.nudge()
                with contextlib.suppress(RuntimeError):
                    self.loop.call_soon_threadsafe(self.run_loop, loop_id)


# -------------------------------------------------------------------- one engine per event loop

_engines: dict[asyncio.AbstractEventLoop, Engine] = {}
_engines_lock = threading.Lock()


def for_running_loop() -> Engine:
    """The engine of the running event loop (the app's lifespan starts it; started here when
    a server runs the app without lifespan events)."""
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None or engine.stopping:
        with _engines_lock:
            engine = _engines.get(loop)
            if engine is None or engine.stopping:
                engine = Engine(current(), loop)
                engine.start()
                _engines[loop] = engine
    return engine


def nudge_all() -> None:
    """Wake every engine of this process (a handler thread just wrote to the log)."""
    for engine in list(_engines.values()):
        engine.nudge()


@contextlib.asynccontextmanager
async def lifespan(app: t.Any) -> t.AsyncIterator[None]:
    engine = for_running_loop()
    try:
        yield
    finally:
        await engine.stop()
        with _engines_lock:
            if _engines.get(engine.loop) is engine:
                del _engines[engine.loop]
