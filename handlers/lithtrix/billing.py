"""lithtrix: billing. The publishable key, the agent's billing snapshot, the Pro upgrade
through Stripe (handlers/lithtrix/stripe_billing.py) and Stripe's signed webhooks
(handlers/lithtrix/webhooks.py)."""

from __future__ import annotations

import logging

import flask

from generated.lithtrix.models import (
    BillingConfigResponse,
    BillingSetupRequest,
    BillingSetupSuccessResponse,
    BillingStatusResponse,
)
from handlers.lithtrix import access, quota, stripe_billing, webhooks
from server.errors import ApiError
from server.settings import current

log = logging.getLogger("pentapi.lithtrix.billing")
NOT_CONFIGURED = "Billing is not configured on this server."
UPGRADED = "Upgraded to Pro: calls are unlimited and the per-minute rate limit is now {rate}."


def get_billing_config_v1_billing_config_get() -> dict:
    key = current().lithtrix_stripe_publishable_key
    if not key:
        raise ApiError(503, "BILLING_NOT_CONFIGURED", NOT_CONFIGURED)
    return BillingConfigResponse(stripe_publishable_key=key).model_dump(mode="json")


def get_billing_v1_billing_get() -> dict:
    agent = access.agent()
    usage = quota.usage_of(agent)
    return BillingStatusResponse(
        tier=agent.tier,
        calls_total=usage.calls_total,
        call_limit=usage.limit,
        over_limit=usage.over_limit,
        stripe_customer_id=agent.stripe_customer_id,
    ).model_dump(mode="json")


def post_billing_setup_v1_billing_setup_post(body: dict) -> dict:
    request = BillingSetupRequest.model_validate(body)
    settings = current()
    try:
        upgrade = stripe_billing.upgrade(settings, access.agent(), request.payment_method_id.strip())
    except stripe_billing.BillingNotConfigured:
        raise ApiError(503, "BILLING_NOT_CONFIGURED", NOT_CONFIGURED) from None
    except stripe_billing.InvalidPaymentMethod as exc:
        raise ApiError(400, "INVALID_PAYMENT_METHOD", str(exc)) from None
    except stripe_billing.StripeFailure as exc:
        raise ApiError(502, "STRIPE_ERROR", str(exc)) from None
    return BillingSetupSuccessResponse(
        tier="pro",
        stripe_customer_id=upgrade.customer_id,
        message=UPGRADED.format(rate=settings.lithtrix_rate_limit_pro),
    ).model_dump(mode="json")


def post_billing_webhook_v1_billing_webhook_post() -> dict:
    """Verify the Stripe-Signature over the raw body, then apply the event once."""
    settings = current()
    if not settings.lithtrix_stripe_webhook_secret:
        raise ApiError(503, "BILLING_NOT_CONFIGURED", "Stripe webhooks are not configured on this server.")
    try:
        event = webhooks.verify(
            flask.request.get_data(cache=False),
            flask.request.headers.get("Stripe-Signature"),
            settings.lithtrix_stripe_webhook_secret,
            settings.lithtrix_webhook_tolerance,
        )
    except webhooks.InvalidSignature as exc:
        raise ApiError(400, "INVALID_SIGNATURE", str(exc)) from None
    except webhooks.InvalidPayload as exc:
        raise ApiError(400, "INVALID_PAYLOAD", str(exc)) from None
    outcome = webhooks.handle(event)
    log.info("stripe event %s %s agent=%s tier=%s applied=%s duplicate=%s", outcome.event_id, outcome.type,
             outcome.agent_id, outcome.tier, outcome.applied, outcome.duplicate)
    return {"status": "ok"}
