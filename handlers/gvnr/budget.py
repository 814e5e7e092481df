"""gvnr: spend envelopes, clearance and reconcile (the domain: handlers/gvnr/spend.py)."""

from __future__ import annotations

import typing as t

from starlette.requests import Request
from starlette.responses import Response

from handlers.gvnr import actions, edge, inputs
from handlers.gvnr.keys import account_id, account_of


async def post_budget_clear(request: Request) -> Response:
    body = await edge.body(request, "postBudgetClear")
    return edge.answer(await actions.budget_clear(account_of(request.scope), body))


async def post_budget_reconcile(request: Request) -> Response:
    body = await edge.body(request, "postBudgetReconcile")
    return edge.answer(await actions.reconcile(account_of(request.scope), body))


def put_budget_envelope(body: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    return actions.set_envelope(account_id(), inputs.require_body("putBudgetEnvelope", body))


def get_budget_envelope_by_agent_id(agent_id: str) -> dict[str, t.Any]:
    return actions.get_envelope(account_id(), agent_id)


def delete_budget_envelope_by_agent_id(agent_id: str) -> dict[str, t.Any]:
    return actions.delete_envelope(account_id(), agent_id)
