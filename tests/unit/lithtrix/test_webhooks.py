"""Webhook verification (the stripe library's scheme) and idempotent, ordered tier changes."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from handlers.lithtrix import agents, webhooks
from server.settings import Settings
from storage.lithtrix import Agent, StripeEvent

SECRET = "whsec_unit"


def signed(body: dict | str, **kw) -> tuple[bytes, str]:
    payload = body if isinstance(body, str) else json.dumps(body)
    return payload.encode(), stripe.WebhookSignature.generate_signature_header(payload, SECRET, **kw)


def an_event(event_type: str, customer: str = "cus_u", created: int = 1_700_000_000, **obj) -> dict:
    return {"id": f"evt_{time.time_ns()}", "object": "event", "type": event_type, "created": created,
            "data": {"object": {"object": "invoice", "customer": customer, **obj}}}


@pytest.mark.parametrize(
    ("event_type", "obj", "tier"),
    [
        ("invoice.payment_failed", {}, "free"),
        ("customer.subscription.deleted", {"status": "canceled"}, "free"),
        ("invoice.payment_succeeded", {}, "pro"),
        ("invoice.paid", {}, "pro"),
        ("customer.subscription.created", {"status": "active"}, "pro"),
        ("customer.subscription.created", {"status": "incomplete"}, None),
        ("customer.subscription.updated", {"status": "trialing"}, "pro"),
        ("customer.subscription.updated", {"status": "unpaid"}, "free"),
        ("customer.subscription.updated", {"status": "past_due"}, "free"),
        ("charge.succeeded", {}, None),
    ],
)
def test_tier_rules(event_type, obj, tier):
    assert webhooks.tier_for(event_type, obj) == tier


def test_verify_accepts_the_librarys_signature():
    body, header = signed(an_event("invoice.paid"))
    assert webhooks.verify(body, header, SECRET, 300)["type"] == "invoice.paid"


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda b, h: (b, None), webhooks.InvalidSignature),
        (lambda b, h: (b, ""), webhooks.InvalidSignature),
        (lambda b, h: (b + b" ", h), webhooks.InvalidSignature),  # one byte more
        (lambda b, h: (b, h.replace("v1=", "v0=")), webhooks.InvalidSignature),
        (lambda b, h: (b, "t=1,v1=" + "0" * 64), webhooks.InvalidSignature),
    ],
)
def test_verify_refuses(mutate, error):
    body, header = signed(an_event("invoice.paid"))
    with pytest.raises(error):
        webhooks.verify(*mutate(body, header), SECRET, 300)


def test_the_tolerance_window():
    body, header = signed(an_event("invoice.paid"), timestamp=int(time.time()) - 100)
    assert webhooks.verify(body, header, SECRET, 300)
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(body, header, SECRET, 60)


def test_signed_non_events_are_invalid_payloads():
    for payload in ("nope", "[]", '{"type": "x"}', '{"id": "evt_1", "type": "x", "data": 5}'):
        body, header = signed(payload)
        with pytest.raises(webhooks.InvalidPayload):
            webhooks.verify(body, header, SECRET, 300)


def _customer(database, tier: str = "pro") -> str:
    agent, _ = agents.register(Settings(), "payer", "p@example.com")
    Agent.update(tier=tier, stripe_customer_id="cus_u").where(Agent.id == agent.id).execute()
    return agent.id


def test_handle_is_idempotent_by_event_id(database):
    agent_id = _customer(database)
    event = an_event("invoice.payment_failed")
    first = webhooks.handle(event)
    assert (first.applied, first.duplicate, first.agent_id, first.tier) == (True, False, agent_id, "free")
    Agent.update(tier="pro").where(Agent.id == agent_id).execute()
    again = webhooks.handle(event)
    assert (again.applied, again.duplicate) == (False, True)
    assert Agent.get_by_id(agent_id).tier == "pro"
    assert StripeEvent.get_by_id(event["id"]).applied is True


def test_handle_ignores_events_older_than_the_last_change(database):
    agent_id = _customer(database)
    assert webhooks.handle(an_event("invoice.payment_failed", created=2000)).applied
    stale = webhooks.handle(an_event("invoice.paid", created=1000))
    assert stale.applied is False and stale.duplicate is False
    assert Agent.get_by_id(agent_id).tier == "free"
    assert webhooks.handle(an_event("invoice.paid", created=2000)).applied  # same second: applied


def test_handle_finds_customers_in_customer_objects_and_expanded_fields(database):
    agent_id = _customer(database)
    event = an_event("customer.subscription.deleted")
    event["data"]["object"] = {"object": "subscription", "customer": {"id": "cus_u", "object": "customer"}}
    assert webhooks.handle(event).agent_id == agent_id
    event = an_event("customer.updated")
    event["data"]["object"] = {"object": "customer", "id": "cus_u"}
    assert webhooks.handle(event).agent_id == agent_id
