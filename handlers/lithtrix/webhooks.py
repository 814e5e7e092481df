"""Stripe webhooks: verified on the raw body, applied once per event id, never out of order.

* Verification is the stripe library's own `Webhook.construct_event`: the `Stripe-Signature`
  header (`t=<unix>,v1=<hex>[,v1=...]`, HMAC-SHA256 of "<t>.<raw body>" with the endpoint
  secret, any matching v1 accepted) within the tolerance window (300 s by default).
* Idempotency: the event id is the primary key of `lithtrix_stripe_event`, inserted in the
  same transaction as the tier change, so a redelivered event (Stripe retries for days and
  may send an event twice) changes nothing.
* Order: Stripe does not guarantee delivery order, so each agent remembers the `created` time
  of the change that set its tier; an older event arriving later is recorded, not applied.

Tier-changing events (TIER_RULES): a failed invoice payment or a deleted subscription
downgrades to free; a paid invoice, or a subscription created/updated into active or
trialing, upgrades to pro; a subscription updated into canceled, unpaid, past_due or
incomplete_expired downgrades. Every other event is acknowledged and recorded.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass

import stripe

from storage import db
from storage.lithtrix import Agent, StripeEvent

_ACTIVE = ("active", "trialing")
_LAPSED = ("canceled", "unpaid", "past_due", "incomplete_expired")


class InvalidSignature(Exception):
    pass


class InvalidPayload(Exception):
    pass


def tier_for(event_type: str, obj: dict[str, t.Any]) -> str | None:
    """The tier an event moves its customer to, or None when it does not change tiers."""
    if event_type in ("invoice.payment_failed", "customer.subscription.deleted"):
        return "free"
    if event_type in ("invoice.payment_succeeded", "invoice.paid"):
        return "pro"
    if event_type in ("customer.subscription.created", "customer.subscription.updated"):
        status = obj.get("status")
        if status in _ACTIVE:
            return "pro"
        if status in _LAPSED:
            return "free"
    return None


TIER_RULES = {
    "invoice.payment_failed": "free",
    "customer.subscription.deleted": "free",
    "invoice.payment_succeeded": "pro",
    "invoice.paid": "pro",
    "customer.subscription.created": "pro when status is active or trialing",
    "customer.subscription.updated": "pro when active or trialing; free when canceled, unpaid, past_due "
    "or incomplete_expired",
}


def verify(payload: bytes, signature: str | None, secret: str, tolerance: int) -> dict[str, t.Any]:
    """The event, once its signature checks out; InvalidSignature / InvalidPayload otherwise."""
    if not signature:
        raise InvalidSignature("Missing Stripe-Signature header.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance)
    except stripe.SignatureVerificationError:
        raise InvalidSignature("Invalid Stripe-Signature.") from None
    except (ValueError, TypeError, AttributeError, KeyError):  # signed, but not a JSON object (or not UTF-8)
        raise InvalidPayload("The webhook body is not a JSON event.") from None
    body = event.to_dict()
    data = body.get("data")
    if not isinstance(body.get("id"), str) or not isinstance(body.get("type"), str) or not isinstance(data, dict):
        raise InvalidPayload("The webhook body is not a Stripe event.")
    return body


@dataclass(frozen=True)
class Outcome:
    event_id: str
    type: str
    duplicate: bool
    agent_id: str | None
    tier: str | None  # the tier the event asks for
    applied: bool  # whether it changed the agent


def _customer_of(obj: dict[str, t.Any]) -> str | None:
    if obj.get("object") == "customer":
        return obj.get("id")
    customer = obj.get("customer")
    if isinstance(customer, dict):  # expanded
        customer = customer.get("id")
    return customer if isinstance(customer, str) else None


def handle(event: dict[str, t.Any]) -> Outcome:
    obj = event["data"].get("object")
    obj = obj if isinstance(obj, dict) else {}
    event_id, event_type = event["id"], event["type"]
    created = event.get("created")
    created = created if isinstance(created, int) and not isinstance(created, bool) else int(time.time())
    customer = _customer_of(obj)
    agent = Agent.get_or_none(Agent.stripe_customer_id == customer) if customer else None
    tier = tier_for(event_type, obj)

    record = StripeEvent.insert(id=event_id, type=event_type, agent_id=agent.id if agent else None)
    record = record.on_conflict_ignore().returning(StripeEvent.id)
    change = None
    if agent is not None and tier is not None:
        changes: dict = {Agent.tier: tier, Agent.tier_changed_at: created}
        if event_type == "customer.subscription.deleted" and obj.get("id") == agent.stripe_subscription_id:
            changes[Agent.stripe_subscription_id] = None  # a later set-up subscribes again
        elif event_type.startswith("customer.subscription.") and tier == "pro" and isinstance(obj.get("id"), str):
            changes[Agent.stripe_subscription_id] = obj["id"]
        change = Agent.update(changes).where(
            (Agent.id == agent.id) & (Agent.tier_changed_at.is_null() | (Agent.tier_changed_at <= created))
        )
    mark = StripeEvent.update(applied=True).where(StripeEvent.id == event_id)
    with db.write():
        inserted = bool(list(record.execute()))
        applied = bool(inserted and change is not None and change.execute())
        if applied:
            mark.execute()
    return Outcome(event_id, event_type, not inserted, agent.id if agent else None, tier, applied)
