"""loopkit: liveness (GET /health)."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from storage import db


async def get_health(request: Request) -> JSONResponse:
    """200 `{"ok": true}` while the database answers, `{"ok": false}` when it does not (the spec
    documents only 200; the server's /healthz answers 503 then). Native async, so it skips
    Flask's per-request connection, which raises when the database cannot be opened."""
    ok = await anyio.to_thread.run_sync(db.ping)
    return JSONResponse({"ok": ok, "service": "loopkit"})
