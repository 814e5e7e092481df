"""`pentapi serve` takes the app's long-lived objects out of the cyclic collector's view once
Connexion has built them (a full collection walking them paused a loaded worker ~140 ms)."""

from __future__ import annotations

import asyncio
import gc

import httpx

from server.app import create_app
from server.serve import FreezeWhenStarted


async def _lifespan(app: FreezeWhenStarted) -> list[tuple[str, int]]:
    """Drive the ASGI lifespan protocol as uvicorn does; each message sent, with the freeze count then."""
    inbox: asyncio.Queue = asyncio.Queue()
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        inbox.put_nowait({"type": kind})
    sent = []

    async def send(message: dict) -> None:
        sent.append((message["type"], gc.get_freeze_count()))

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    return sent


def test_the_stack_connexion_builds_at_startup_is_frozen(settings):
    app = create_app(settings, api="gvnr")
    assert app.middleware.middleware_stack is None  # Connexion builds it on the first ASGI call
    gc.unfreeze()
    try:
        sent = asyncio.run(_lifespan(FreezeWhenStarted(app)))
        stack = app.middleware.middleware_stack
        assert stack is not None
        assert not any(obj is stack for obj in gc.get_objects())  # frozen: no collection walks it
        assert [kind for kind, _ in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert sent[0][1] > 100_000  # frozen before the server was told it may serve
    finally:
        gc.unfreeze()


def test_requests_pass_through_untouched(settings):
    app = FreezeWhenStarted(create_app(settings, api="gvnr"))

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            return await http.get("/healthz")

    response = asyncio.run(get())
    assert response.status_code == 200 and response.json()["status"] == "ok"
