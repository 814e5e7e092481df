"""The HTTP edge of Gvnr's `async def` handlers (run by NativeAsync on the event loop, after
Connexion's security and request validation): the validated JSON body, and the answer."""

from __future__ import annotations

import json
import typing as t

from starlette.requests import Request
from starlette.responses import JSONResponse

from handlers.gvnr import inputs


async def body(request: Request, operation_id: str) -> dict[str, t.Any]:
    """The request's JSON body (the validation middleware has already checked it)."""
    raw = await request.body()
    return inputs.require_body(operation_id, json.loads(raw) if raw else None)


def answer(payload: dict[str, t.Any], status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)
