"""POST /v1/billing/webhook: signatures made by the stripe library's own signer, verified on the
raw body; tier changes applied once per event id and never out of order."""

from __future__ import annotations

import json
import time

import stripe

from storage import db
from storage.lithtrix import StripeEvent
from tests.api.lithtrix.conftest import P, agent_row, register, set_agent

SECRET = "whsec_test_lithtrix"


def event(event_type: str, customer: str, *, event_id: str | None = None, created: int | None = None,
          obj: dict | None = None) -> str:
    body = {
        "id": event_id or f"evt_{time.time_ns()}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": created if created is not None else int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": {"object": "invoice", "id": "in_123", "customer": customer, **(obj or {})}},
    }
    return json.dumps(body, indent=2)  # Stripe sends pretty-printed JSON; the signature covers these bytes


def deliver(client, payload: str, *, secret: str = SECRET, timestamp: int | None = None, header: str | None = None):
    signature = header or stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return client.post(f"{P}/v1/billing/webhook", content=payload.encode(),
                       headers={"Stripe-Signature": signature, "Content-Type": "application/json"})


def pro_customer(client, customer: str = "cus_webhook1"):
    agent = register(client)
    set_agent(agent.agent_id, tier="pro", stripe_customer_id=customer)
    return agent


def test_a_failed_payment_downgrades_and_a_paid_invoice_restores(billing_api):
    agent = pro_customer(billing_api)
    r = deliver(billing_api, event("invoice.payment_failed", "cus_webhook1"))
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert agent_row(agent.agent_id).tier == "free"
    assert billing_api.get(f"{P}/v1/billing", headers=agent.headers).json()["call_limit"] == 300
    assert deliver(billing_api, event("invoice.payment_succeeded", "cus_webhook1")).status_code == 200
    assert agent_row(agent.agent_id).tier == "pro"


def test_a_deleted_subscription_downgrades(billing_api):
    agent = pro_customer(billing_api)
    set_agent(agent.agent_id, stripe_subscription_id="sub_1")
    payload = event("customer.subscription.deleted", "cus_webhook1",
                    obj={"object": "subscription", "id": "sub_1", "status": "canceled"})
    assert deliver(billing_api, payload).status_code == 200
    row = agent_row(agent.agent_id)
    assert row.tier == "free" and row.stripe_subscription_id is None


def test_subscription_updates_follow_their_status(billing_api):
    agent = pro_customer(billing_api)
    lapsed = event("customer.subscription.updated", "cus_webhook1",
                   obj={"object": "subscription", "id": "sub_2", "status": "past_due"})
    assert deliver(billing_api, lapsed).status_code == 200 and agent_row(agent.agent_id).tier == "free"
    active = event("customer.subscription.updated", "cus_webhook1",
                   obj={"object": "subscription", "id": "sub_2", "status": "active"})
    assert deliver(billing_api, active).status_code == 200
    row = agent_row(agent.agent_id)
    assert row.tier == "pro" and row.stripe_subscription_id == "sub_2"


def test_a_redelivered_event_is_applied_once(billing_api):
    agent = pro_customer(billing_api)
    payload = event("invoice.payment_failed", "cus_webhook1", event_id="evt_once")
    assert deliver(billing_api, payload).status_code == 200
    set_agent(agent.agent_id, tier="pro")  # e.g. the operator restored it meanwhile
    again = deliver(billing_api, payload)  # Stripe retries: same id, freshly signed
    assert again.status_code == 200 and again.json() == {"status": "ok"}
    assert agent_row(agent.agent_id).tier == "pro"
    with db.database.connection_context():
        assert StripeEvent.select().where(StripeEvent.id == "evt_once").count() == 1


def test_an_older_event_arriving_late_does_not_undo_a_newer_one(billing_api):
    agent = pro_customer(billing_api)
    now = int(time.time())
    assert deliver(billing_api, event("invoice.payment_failed", "cus_webhook1", created=now)).status_code == 200
    late = deliver(billing_api, event("invoice.payment_succeeded", "cus_webhook1", created=now - 3600))
    assert late.status_code == 200
    assert agent_row(agent.agent_id).tier == "free"


def test_events_for_unknown_customers_and_other_types_are_acknowledged(billing_api):
    agent = pro_customer(billing_api)
    assert deliver(billing_api, event("invoice.payment_failed", "cus_someone_else")).status_code == 200
    assert deliver(billing_api, event("charge.refunded", "cus_webhook1")).status_code == 200
    assert agent_row(agent.agent_id).tier == "pro"
    with db.database.connection_context():
        assert StripeEvent.select().count() == 2 and StripeEvent.select().where(StripeEvent.applied).count() == 0


def test_bad_signatures_are_400_and_change_nothing(billing_api):
    agent = pro_customer(billing_api)
    payload = event("invoice.payment_failed", "cus_webhook1")
    cases = {
        "wrong secret": deliver(billing_api, payload, secret="whsec_other"),
        "too old": deliver(billing_api, payload, timestamp=int(time.time()) - 301),
        "garbage header": deliver(billing_api, payload, header="t=abc,v1=zzz"),
        "no v1": deliver(billing_api, payload, header=f"t={int(time.time())}"),
    }
    for name, r in cases.items():
        assert r.status_code == 400, name
        assert r.json() == {"status": "error", "error_code": "INVALID_SIGNATURE",
                            "message": "Invalid Stripe-Signature."}, name
    unsigned = billing_api.post(f"{P}/v1/billing/webhook", content=payload.encode(),
                                headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 400 and unsigned.json()["message"] == "Missing Stripe-Signature header."
    assert agent_row(agent.agent_id).tier == "pro"


def test_the_signature_covers_the_raw_bytes(billing_api):
    agent = pro_customer(billing_api)
    payload = event("invoice.payment_failed", "cus_webhook1")
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    compact = json.dumps(json.loads(payload))  # the same JSON, re-serialised
    r = billing_api.post(f"{P}/v1/billing/webhook", content=compact.encode(), headers={"Stripe-Signature": header})
    assert r.status_code == 400
    assert agent_row(agent.agent_id).tier == "pro"


def test_any_matching_v1_is_accepted_during_secret_rotation(billing_api):
    agent = pro_customer(billing_api)
    payload = event("invoice.payment_failed", "cus_webhook1")
    now = int(time.time())
    old = stripe.WebhookSignature.generate_signature_header(payload, "whsec_retired", timestamp=now)
    new = stripe.WebhookSignature.generate_signature_header(payload, SECRET, timestamp=now)
    header = f"{old},v1={new.split('v1=')[1]}"
    assert deliver(billing_api, payload, header=header).status_code == 200
    assert agent_row(agent.agent_id).tier == "free"


def test_within_the_tolerance_window_is_accepted(billing_api):
    pro_customer(billing_api)
    payload = event("invoice.payment_failed", "cus_webhook1")
    assert deliver(billing_api, payload, timestamp=int(time.time()) - 250).status_code == 200


def test_signed_but_not_an_event_is_400(billing_api):
    for body in ("not json at all", "[1, 2]", '{"id": "evt_x"}'):
        r = deliver(billing_api, body)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PAYLOAD", body


def test_webhooks_without_a_secret_are_503(api):
    r = deliver(api, event("invoice.payment_failed", "cus_x"))
    assert r.status_code == 503 and r.json()["error_code"] == "BILLING_NOT_CONFIGURED"
