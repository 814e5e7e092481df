"""gvnr: idempotency keys (the domain: handlers/gvnr/dedup.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from handlers.gvnr import actions, edge
from handlers.gvnr.keys import account_of


async def post_idempotency_check(request: Request) -> Response:
    body = await edge.body(request, "postIdempotencyCheck")
    return edge.answer(await actions.idempotency_check(account_of(request.scope), body))
