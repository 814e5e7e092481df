"""The Pro upgrade through Stripe, with the official `stripe` library (StripeClient, so the API
base, retries and timeout are per server, never global state).

`upgrade(settings, agent, payment_method_id)` makes exactly these calls:

1. `POST /v1/customers` when the agent has no customer yet, with the idempotency key
   `lithtrix-customer-<agent_id>`: two racing set-ups (or a retry after a crash) get the same
   customer back from Stripe, and its id is stored at once so later set-ups reuse it;
2. `POST /v1/payment_methods/{pm}/attach` with the customer;
3. `POST /v1/customers/{id}` setting `invoice_settings[default_payment_method]`;
4. `POST /v1/subscriptions` for LITHTRIX_STRIPE_PRO_PRICE_ID, only when a price is configured and
   the agent has no subscription yet (idempotency key per agent and price);

then sets the tier to pro in one UPDATE. An unknown, foreign or declined payment method is
InvalidPaymentMethod (400); any other Stripe failure (auth, network, 5xx, rate limit) is
StripeFailure (502); no secret key is BillingNotConfigured (503). The tier changes only after
every Stripe call succeeded.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass

import stripe

from server.settings import Settings
from storage import db
from storage.lithtrix import Agent

log = logging.getLogger("pentapi.lithtrix.billing")


class BillingNotConfigured(Exception):
    pass


class InvalidPaymentMethod(Exception):
    pass


class StripeFailure(Exception):
    pass


@dataclass(frozen=True)
class Upgrade:
    customer_id: str
    subscription_id: str | None


_lock = threading.Lock()
_clients: dict[tuple, tuple[stripe.StripeClient, stripe.RequestsClient]] = {}


@atexit.register
def _close_all() -> None:
    for _, http in _clients.values():
        http.close()


def client(settings: Settings) -> stripe.StripeClient:
    """One StripeClient per process (it pools its HTTP connections), rebuilt when the
    configuration changes (the old pool is closed)."""
    if not settings.lithtrix_stripe_secret_key:
        raise BillingNotConfigured("Billing is not configured on this server.")
    key = (settings.lithtrix_stripe_secret_key, settings.lithtrix_stripe_api_base, settings.lithtrix_stripe_max_retries)
    with _lock:
        if key not in _clients:
            for _, old_http in _clients.values():
                old_http.close()
            _clients.clear()
            http = stripe.RequestsClient(timeout=20)
            options: dict = {"max_network_retries": settings.lithtrix_stripe_max_retries, "http_client": http}
            if settings.lithtrix_stripe_api_base:
                options["base_addresses"] = {"api": settings.lithtrix_stripe_api_base.rstrip("/")}
            _clients[key] = (stripe.StripeClient(settings.lithtrix_stripe_secret_key, **options), http)
        return _clients[key][0]


_PM_PARAMS = ("payment_method", "invoice_settings[default_payment_method]", "default_payment_method")


def _is_payment_method_problem(exc: stripe.StripeError) -> bool:
    """Declined cards and unknown, unusable or foreign PaymentMethods (the caller's fault)."""
    if isinstance(exc, stripe.CardError):
        return True
    if not isinstance(exc, stripe.InvalidRequestError):
        return False
    code = exc.code or ""
    return exc.param in _PM_PARAMS or code.startswith("payment_method_") or (
        code == "resource_missing" and "PaymentMethod" in (exc.user_message or "")
    )


def upgrade(settings: Settings, agent: Agent, payment_method_id: str) -> Upgrade:
    if not payment_method_id.startswith("pm_"):
        raise InvalidPaymentMethod("payment_method_id must be a Stripe PaymentMethod id (pm_...).")
    stripe_client = client(settings)
    try:
        customer_id = agent.stripe_customer_id or _create_customer(stripe_client, agent)
        stripe_client.v1.payment_methods.attach(payment_method_id, {"customer": customer_id})
        stripe_client.v1.customers.update(
            customer_id, {"invoice_settings": {"default_payment_method": payment_method_id}}
        )
        subscription_id = agent.stripe_subscription_id
        if settings.lithtrix_stripe_pro_price_id and not subscription_id:
            subscription = stripe_client.v1.subscriptions.create(
                {
                    "customer": customer_id,
                    "items": [{"price": settings.lithtrix_stripe_pro_price_id}],
                    "default_payment_method": payment_method_id,
                    "metadata": {"agent_id": agent.id},
                },
                {"idempotency_key": f"lithtrix-subscription-{agent.id}-{settings.lithtrix_stripe_pro_price_id}"},
            )
            subscription_id = subscription.id
    except stripe.StripeError as exc:
        if _is_payment_method_problem(exc):
            raise InvalidPaymentMethod(exc.user_message or "Invalid payment method.") from exc
        log.warning("stripe error during billing setup for %s: %s", agent.id, exc)
        raise StripeFailure("Payment provider error. Please try again later.") from exc
    promote = Agent.update(
        tier="pro", stripe_customer_id=customer_id, stripe_subscription_id=subscription_id,
        tier_changed_at=int(time.time()),
    ).where(Agent.id == agent.id)
    with db.write():
        promote.execute()
    return Upgrade(customer_id, subscription_id)


def _create_customer(stripe_client: stripe.StripeClient, agent: Agent) -> str:
    customer = stripe_client.v1.customers.create(
        {
            "description": f"Lithtrix agent {agent.agent_name}",
            "metadata": {"agent_id": agent.id, "agent_name": agent.agent_name,
                         "owner_identifier": agent.owner_identifier[:500]},
        },
        {"idempotency_key": f"lithtrix-customer-{agent.id}"},
    )
    remember = Agent.update(stripe_customer_id=customer.id).where(
        (Agent.id == agent.id) & Agent.stripe_customer_id.is_null()
    )
    with db.write():
        remember.execute()  # kept even if a later call fails: the next set-up reuses it
    return customer.id
