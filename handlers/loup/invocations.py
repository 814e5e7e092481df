"""One hosted-runtime invocation: reserve, run, account.

The spend cap is checked by the same single UPDATE that counts the invocation
(`... WHERE spent < cap`), so concurrent invocations can never pass a cap that is already
reached. Cost is added after the model answers (it is only known then) with an atomic
`spent = spent + cost`. Every invocation leaves skill.invoked, then skill.success or
skill.error, in the creator's usage log; prompts themselves are not stored, only sizes.

`invoke` runs on the event loop (the model call can take a minute); each database step goes
to a worker thread through `db.in_thread`. A request canceled meanwhile (a worker stopping
cancels its tasks, anyio cancels a scope) is still settled: every write is carried to its end,
and a cancellation during the model call records skill.error `canceled` before it goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import typing as t

import anyio

from generated.loup.models import Data, RuntimeSkill
from handlers.loup import catalog, runtime_clients
from handlers.loup.provisioning import new_id
from handlers.loup.runtime_clients import NotConfigured, RuntimeFailure, Skill
from server.errors import ApiError
from server.settings import current
from storage import db
from storage.base import utcnow
from storage.loup import Install, UsageEvent

log = logging.getLogger(__name__)


def _event(
    owned: catalog.Owned,
    event_type: str,
    payload: dict[str, t.Any],
    *,
    tokens: int | None = None,
    cost: float | None = None,
) -> tuple[t.Any, dict[str, str]]:
    event_id, at = new_id("evt_", 8), utcnow()
    insert = UsageEvent.insert(
        id=event_id,
        install=owned.install.id,
        pack=owned.pack.id,
        event_type=event_type,
        occurred_at=at,
        payload=json.dumps(payload),
        llm_tokens_used=tokens,
        llm_cost_usd=cost,
    )
    return insert, {"id": event_id, "event_type": event_type, "occurred_at": at.isoformat()}


async def invoke(
    owned: catalog.Owned, prompt: str, message_text: str | None, headers: dict[str, str]
) -> Data:
    try:
        client = runtime_clients.client_for(current())
    except NotConfigured as exc:
        raise ApiError(422, "runtime_not_configured", str(exc), headers=headers) from None
    latest = await db.in_thread(catalog.latest_approved, owned.pack.id)
    skill = Skill(
        owned.creator.handle,
        owned.pack.slug,
        owned.pack.name,
        latest.version if latest else catalog.UNRELEASED,
        owned.pack.description,
    )
    base = {"client_name": client.name, "version": skill.version}
    invoked, invoked_out = _event(
        owned,
        "skill.invoked",
        {**base, "prompt_chars": len(prompt), "message_chars": len(message_text or "")},
    )
    _, canceled = await _carried(_reserve, owned, invoked, headers)  # ApiError: nothing reserved

    started = time.perf_counter()
    try:
        if canceled:  # during the reservation: it was made, so it is settled below
            raise asyncio.CancelledError
        reply = await client.run(skill, prompt, message_text)
    except anyio.get_cancelled_exc_class():
        canceled_event, _ = _event(
            owned,
            "skill.error",
            {**base, "duration_ms": _since(started), "error": "canceled", "retryable": True},
        )
        await _carried(_write, canceled_event)
        raise
    except Exception as exc:
        duration_ms = _since(started)
        if isinstance(exc, RuntimeFailure):
            message, retryable = str(exc), exc.retryable
        else:  # a client bug or an answer it could not read: still accounted as an error
            log.exception("runtime client %s failed unexpectedly", client.name)
            message, retryable = f"runtime client failed: {type(exc).__name__}", False
        failed, _ = _event(
            owned,
            "skill.error",
            {**base, "duration_ms": duration_ms, "error": message, "retryable": retryable},
        )
        await _carried(_write, failed)
        raise ApiError(422, "runtime_failed", message, headers=headers) from None
    duration_ms = _since(started)

    spend = Install.update(
        spent_micro_usd=Install.spent_micro_usd + round(reply.cost_usd * 1_000_000)
    ).where(Install.id == owned.install.id)
    succeeded, succeeded_out = _event(
        owned,
        "skill.success",
        {
            **base,
            "duration_ms": duration_ms,
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
        },
        tokens=reply.tokens,
        cost=reply.cost_usd,
    )
    _, canceled = await _carried(_write, spend, succeeded)
    if canceled:
        raise asyncio.CancelledError
    return Data(
        reply_text=reply.text,
        llm_tokens_used=reply.tokens,
        llm_cost_usd=reply.cost_usd,
        duration_ms=duration_ms,
        client_name=client.name,
        events=[invoked_out, succeeded_out],
        skill=RuntimeSkill(
            creator=skill.creator, slug=skill.slug, name=skill.name, version=skill.version
        ),
    )


def _since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _carried(fn: t.Callable[..., t.Any], *args: t.Any) -> tuple[t.Any, bool]:
    """`db.in_thread(fn, *args)` carried to its end even if this task is canceled meanwhile, so
    a reservation or its settlement is never left half-known: (its result, whether a
    cancellation came). anyio's cancellation waits behind the shield; a native task.cancel()
    (which a thread-pool await alone would let through while the thread still writes) is
    caught here and reported, for the caller to settle and re-raise."""
    work = asyncio.ensure_future(db.in_thread(fn, *args))
    canceled = False
    with anyio.CancelScope(shield=True):
        while not work.done():
            try:
                await asyncio.wait({work})
            except asyncio.CancelledError:
                canceled = True
    return work.result(), canceled


def _reserve(owned: catalog.Owned, invoked: t.Any, headers: dict[str, str]) -> None:
    """Count the invocation unless the cap is reached (one conditional UPDATE), and log it."""
    reserve = Install.update(invocation_count=Install.invocation_count + 1).where(
        (Install.id == owned.install.id)
        & (Install.status != "canceled")
        & (
            Install.spend_cap_micro_usd.is_null()
            | (Install.spent_micro_usd < Install.spend_cap_micro_usd)
        )
    )
    with db.write():
        if not reserve.execute():
            status = Install.select(Install.status).where(Install.id == owned.install.id).scalar()
            if status in (None, "canceled"):  # canceled (or deleted) since authentication
                raise ApiError(401, "INSTALL_CANCELED", "this install is canceled", headers=headers)
            raise ApiError(422, "spend_cap_exceeded", "spend cap exceeded", headers=headers)
        invoked.execute()


def _write(*statements: t.Any) -> None:
    with db.write():
        for statement in statements:
            statement.execute()
