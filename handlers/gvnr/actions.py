"""The Gvnr operations both doors share - the REST routes (handlers/gvnr/budget.py, rate.py,
idempotency.py, account.py) and the MCP tools (handlers/gvnr/mcp_tools.py): validated input
in, the REST success body out, `ApiError` for everything else. One implementation, so a tool
call has exactly the REST operation's semantics.

The operations on every LLM call's path (clear, reconcile, rate check, idempotency check) are
coroutines for the event loop (their REST handlers are `async def`, see server/middleware.py
NativeAsync); the rest are plain functions run on a handler thread.
"""

from __future__ import annotations

import typing as t

from generated.gvnr import models as m
from handlers.gvnr import dedup, keys, pricing, quota, rates, spend, store
from server.errors import ApiError
from server.settings import current

Body = dict[str, t.Any]


def _dump(model: t.Any) -> Body:
    return model.model_dump(mode="json", exclude_none=True)


def _not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} for this agent; create it with PUT first", retryable=False)


def _pending_ttl_ms() -> int:
    return current().gvnr_pending_clearance_ttl_seconds * 1000


# ------------------------------------------------------------------ account


def get_balance(account: str) -> Body:
    try:
        ops = quota.balance(account)
    except quota.UnknownAccount:
        raise keys.invalid_key() from None  # deleted since its key was verified
    return _dump(m.V1AccountBalanceGetResponse(operations_remaining=ops))


# ------------------------------------------------------------------ spend envelopes


def set_envelope(account: str, body: Body) -> Body:
    window = body.get("window", "daily")
    store.call(spend.set_envelope, account, body["agent_id"], pricing.to_nano(body["limit_usd"]), window)
    return _dump(m.V1BudgetEnvelopePutResponse(success=True, agent_id=body["agent_id"], limit_usd=body["limit_usd"],
                                               window=window))


def get_envelope(account: str, agent_id: str) -> Body:
    try:
        e = store.read(spend.get_envelope, account, agent_id)
    except spend.NoEnvelope:
        raise _not_found("spend envelope") from None
    return _dump(m.V1BudgetEnvelopeAgentIdGetResponse(
        agent_id=e.agent_id, limit_usd=pricing.usd(e.limit_nano), spent_usd=pricing.usd(e.spent_nano),
        remaining_usd=pricing.usd(e.remaining_nano), window=e.window, reset_at=e.reset_at))


def delete_envelope(account: str, agent_id: str) -> Body:
    try:
        store.call(spend.delete_envelope, account, agent_id)
    except spend.NoEnvelope:
        raise _not_found("spend envelope") from None
    return _dump(m.V1BudgetEnvelopeAgentIdDeleteResponse(success=True, agent_id=agent_id))


async def budget_clear(account: str, body: Body) -> Body:
    price = pricing.lookup(body["model"])
    c = await store.run(spend.clear, account, body["agent_id"], body["model"], price, body["estimated_tokens"],
                        _pending_ttl_ms())
    return _dump(m.V1BudgetClearPostResponse(approved=c.approved, remaining_usd=pricing.usd(c.remaining_nano),
                                             operations_remaining=c.operations_remaining, reason=c.reason))


async def reconcile(account: str, body: Body) -> Body:
    try:
        r = await store.run(spend.reconcile, account, body["agent_id"], body["actual_input_tokens"],
                            body["actual_output_tokens"], _pending_ttl_ms())
    except spend.NoEnvelope:
        raise ApiError(400, "no_envelope", "this agent has no spend envelope", retryable=False) from None
    except spend.NoPendingClearance:
        raise ApiError(400, "no_pending_clearance",
                       "no approved clearance is waiting for a reconcile for this agent", retryable=False) from None
    return _dump(m.V1BudgetReconcilePostResponse(ok=True, drift_usd=pricing.usd(r.drift_nano),
                                                 remaining_usd=pricing.usd(r.remaining_nano),
                                                 operations_remaining=r.operations_remaining, warning=r.warning))


# ------------------------------------------------------------------ rate envelopes


def set_rate_envelope(account: str, body: Body) -> Body:
    key = (body["agent_id"], body["provider"], body["model"])
    store.call(rates.set_envelope, account, *key, body["requests_per_minute"])
    return _dump(m.V1RateEnvelopePutResponse(success=True, agent_id=key[0], provider=key[1], model=key[2],
                                             requests_per_minute=body["requests_per_minute"]))


def get_rate_envelope(account: str, agent_id: str, provider: str, model: str) -> Body:
    try:
        s = store.read(rates.get_envelope, account, agent_id, provider, model)
    except rates.NoRateEnvelope:
        raise _not_found("rate envelope") from None
    return _dump(m.V1RateEnvelopeAgentIdProviderModelGetResponse(
        agent_id=s.agent_id, provider=s.provider, model=s.model, requests_per_minute=s.requests_per_minute,
        requests_in_window=s.requests_in_window, window_start=s.window_start))


def delete_rate_envelope(account: str, agent_id: str, provider: str, model: str) -> Body:
    try:
        store.call(rates.delete_envelope, account, agent_id, provider, model)
    except rates.NoRateEnvelope:
        raise _not_found("rate envelope") from None
    return _dump(m.V1RateEnvelopeAgentIdProviderModelDeleteResponse(success=True, agent_id=agent_id,
                                                                    provider=provider, model=model))


async def rate_check(account: str, body: Body) -> Body:
    d = await store.run(rates.check, account, body["agent_id"], body["provider"], body["model"])
    if d.allowed:
        return _dump(m.V1RateCheckPostResponse1(allowed=True, requests_remaining_this_minute=d.remaining))
    return _dump(m.V1RateCheckPostResponse2(allowed=False, reason=d.reason, retry_after_ms=d.retry_after_ms))


# ------------------------------------------------------------------ idempotency


async def idempotency_check(account: str, body: Body) -> Body:
    k = await store.run(dedup.check, account, body["key"], body.get("ttl_seconds", dedup.DEFAULT_TTL_SECONDS))
    return _dump(m.V1IdempotencyCheckPostResponse(is_first_call=k.is_first_call,
                                                  ttl_remaining_seconds=k.ttl_remaining_seconds))
