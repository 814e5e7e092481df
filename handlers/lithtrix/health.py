"""lithtrix: liveness (GET /health)."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.apis import APIS
from storage import db


async def health_health_get(request: Request) -> JSONResponse:
    """`status` and the semantic API version; `degraded` when the database does not answer.
    Native async, so it skips Flask's per-request connection, which raises when the database
    cannot be opened (the spec documents only 200)."""
    ok = await anyio.to_thread.run_sync(db.ping)
    return JSONResponse({"status": "ok" if ok else "degraded", "version": APIS["lithtrix"].document["info"]["version"]})
