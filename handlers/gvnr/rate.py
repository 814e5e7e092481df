"""gvnr: rate envelopes and the runtime rate check (the domain: handlers/gvnr/rates.py)."""

from __future__ import annotations

import typing as t

from starlette.requests import Request
from starlette.responses import Response

from handlers.gvnr import actions, edge, inputs
from handlers.gvnr.keys import account_id, account_of


def put_rate_envelope(body: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    return actions.set_rate_envelope(account_id(), inputs.require_body("putRateEnvelope", body))


def get_rate_envelope_by_agent_id_by_provider_by_model(agent_id: str, provider: str, model: str) -> dict[str, t.Any]:
    return actions.get_rate_envelope(account_id(), agent_id, provider, model)


def delete_rate_envelope_by_agent_id_by_provider_by_model(agent_id: str, provider: str,
                                                          model: str) -> dict[str, t.Any]:
    return actions.delete_rate_envelope(account_id(), agent_id, provider, model)


async def post_rate_check(request: Request) -> Response:
    body = await edge.body(request, "postRateCheck")
    return edge.answer(await actions.rate_check(account_of(request.scope), body))
