"""Billing: the publishable key, the billing snapshot, the Pro upgrade through the real `stripe`
library against a local server speaking Stripe's HTTP API, and its failure modes."""

from __future__ import annotations

from tests.api.lithtrix.conftest import P, agent_row, register, set_agent


def setup(client, who, pm="pm_card_visa"):
    return client.post(f"{P}/v1/billing/setup", json={"payment_method_id": pm}, headers=who.headers)


def test_config_serves_the_publishable_key(billing_api):
    assert billing_api.get(f"{P}/v1/billing/config").json() == {"stripe_publishable_key": "pk_test_lithtrix"}


def test_billing_without_configuration_is_a_clear_503(api, agent):
    r = api.get(f"{P}/v1/billing/config")
    assert r.status_code == 503 and r.json() == {"status": "error", "error_code": "BILLING_NOT_CONFIGURED",
                                                 "message": "Billing is not configured on this server."}
    r = setup(api, agent)
    assert r.status_code == 503 and r.json()["error_code"] == "BILLING_NOT_CONFIGURED"
    assert agent_row(agent.agent_id).tier == "free"


def test_billing_snapshot_of_a_free_agent(billing_api):
    agent = register(billing_api)
    billing_api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers)
    assert billing_api.get(f"{P}/v1/billing", headers=agent.headers).json() == {
        "tier": "free", "calls_total": 1, "call_limit": 300, "over_limit": False, "stripe_customer_id": None}


def test_setup_creates_the_customer_attaches_the_method_and_upgrades(billing_api, stripe_server):
    agent = register(billing_api, "payer", "payer@example.com")
    r = setup(billing_api, agent)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tier"] == "pro" and body["stripe_customer_id"].startswith("cus_")
    assert "600" in body["message"]
    customer = stripe_server.customers[body["stripe_customer_id"]]
    assert customer["metadata"] == {"agent_id": agent.agent_id, "agent_name": "payer",
                                    "owner_identifier": "payer@example.com"}
    assert customer["invoice_settings"]["default_payment_method"] == "pm_card_visa"
    assert stripe_server.payment_methods["pm_card_visa"]["customer"] == body["stripe_customer_id"]
    # Exactly the three calls, form-encoded, with the secret key, by the stripe library.
    calls = [(c["method"], c["path"]) for c in stripe_server.requests]
    assert calls == [("POST", "/v1/customers"), ("POST", "/v1/payment_methods/pm_card_visa/attach"),
                     ("POST", f"/v1/customers/{body['stripe_customer_id']}")]
    first = stripe_server.requests[0]["headers"]
    assert first["idempotency-key"] == f"lithtrix-customer-{agent.agent_id}"
    assert first["user-agent"].startswith("Stripe/v1 PythonBindings")
    assert stripe_server.requests[2]["form"] == {"invoice_settings[default_payment_method]": "pm_card_visa"}
    billing = billing_api.get(f"{P}/v1/billing", headers=agent.headers).json()
    assert billing == {"tier": "pro", "calls_total": 0, "call_limit": None, "over_limit": False,
                       "stripe_customer_id": body["stripe_customer_id"]}


def test_pro_lifts_an_agent_past_the_cap(make_api, stripe_server):
    api = make_api(lithtrix_free_call_limit=1, lithtrix_stripe_secret_key=stripe_server.secret_key,
                   lithtrix_stripe_api_base=stripe_server.url, lithtrix_stripe_max_retries=0)
    agent = register(api)
    api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers)
    assert api.get(f"{P}/v1/search", params={"q": "moon"}, headers=agent.headers).json()["usage"]["over_limit"]
    assert setup(api, agent).status_code == 200
    after = api.get(f"{P}/v1/search", params={"q": "liberty"}, headers=agent.headers).json()
    assert after["results"] and after["usage"]["calls_total"] == 2 and after["usage"]["calls_remaining"] is None


def test_a_second_setup_reuses_the_customer(billing_api, stripe_server):
    agent = register(billing_api)
    first = setup(billing_api, agent).json()["stripe_customer_id"]
    second = setup(billing_api, agent, "pm_card_mastercard").json()["stripe_customer_id"]
    assert first == second and len(stripe_server.customers) == 1
    assert stripe_server.customers[first]["invoice_settings"]["default_payment_method"] == "pm_card_mastercard"
    assert len(stripe_server.calls("POST", "/v1/customers")) == 3  # one create, two updates


def test_unknown_and_declined_payment_methods_are_400(billing_api, stripe_server):
    agent = register(billing_api)
    r = setup(billing_api, agent, "pm_doesnotexist")
    assert r.status_code == 400
    assert r.json() == {"status": "error", "error_code": "INVALID_PAYMENT_METHOD",
                        "message": "No such PaymentMethod: 'pm_doesnotexist'"}
    declined = setup(billing_api, agent, "pm_card_chargeDeclined")
    assert declined.status_code == 400 and declined.json()["message"] == "Your card was declined."
    row = agent_row(agent.agent_id)
    assert row.tier == "free"
    assert row.stripe_customer_id in stripe_server.customers  # kept for the next try
    assert len(stripe_server.calls("POST", "/v1/customers")) == 1  # created once, then reused


def test_a_non_pm_id_is_refused_before_stripe_is_called(billing_api, stripe_server):
    agent = register(billing_api)
    for bad in ("card_123", "tok_visa", "  "):
        r = setup(billing_api, agent, bad)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PAYMENT_METHOD"
    assert stripe_server.requests == []


def test_other_stripe_failures_are_502_and_change_nothing(billing_api, stripe_server):
    agent = register(billing_api)
    stripe_server.fail_next("/v1/payment_methods", 500)
    r = setup(billing_api, agent)
    assert r.status_code == 502
    assert r.json() == {"status": "error", "error_code": "STRIPE_ERROR",
                        "message": "Payment provider error. Please try again later."}
    assert agent_row(agent.agent_id).tier == "free"
    assert setup(billing_api, agent).status_code == 200  # the stored customer is reused


def test_a_wrong_secret_key_is_502(make_api, stripe_server):
    api = make_api(lithtrix_stripe_secret_key="sk_test_wrong", lithtrix_stripe_api_base=stripe_server.url,
                   lithtrix_stripe_max_retries=0)
    agent = register(api)
    assert setup(api, agent).status_code == 502
    assert agent_row(agent.agent_id).stripe_customer_id is None


def test_unreachable_stripe_is_502(make_api):
    api = make_api(lithtrix_stripe_secret_key="sk_test_x", lithtrix_stripe_api_base="http://127.0.0.1:1",
                   lithtrix_stripe_max_retries=0)
    assert setup(api, register(api)).json()["error_code"] == "STRIPE_ERROR"


def test_a_configured_price_subscribes_the_customer(make_api, stripe_server):
    api = make_api(lithtrix_stripe_secret_key=stripe_server.secret_key, lithtrix_stripe_api_base=stripe_server.url,
                   lithtrix_stripe_max_retries=0, lithtrix_stripe_pro_price_id="price_pro_monthly")
    agent = register(api)
    assert setup(api, agent).status_code == 200
    (subscription,) = stripe_server.subscriptions.values()
    assert subscription["items"]["data"][0]["price"]["id"] == "price_pro_monthly"
    assert subscription["default_payment_method"] == "pm_card_visa"
    assert agent_row(agent.agent_id).stripe_subscription_id == subscription["id"]
    assert setup(api, agent, "pm_card_mastercard").status_code == 200
    assert len(stripe_server.subscriptions) == 1  # a second set-up never subscribes twice


def test_an_unknown_price_is_a_stripe_error_not_the_callers(make_api, stripe_server):
    api = make_api(lithtrix_stripe_secret_key=stripe_server.secret_key, lithtrix_stripe_api_base=stripe_server.url,
                   lithtrix_stripe_max_retries=0, lithtrix_stripe_pro_price_id="price_missing")
    agent = register(api)
    assert setup(api, agent).status_code == 502
    assert agent_row(agent.agent_id).tier == "free"


def test_the_librarys_retry_replays_the_idempotent_customer_creation(make_api, stripe_server):
    api = make_api(lithtrix_stripe_secret_key=stripe_server.secret_key, lithtrix_stripe_api_base=stripe_server.url,
                   lithtrix_stripe_max_retries=1)
    agent = register(api)
    # A 409 lock_timeout is one Stripe asks clients to retry; the retry must not make a second customer.
    stripe_server.fail_next("/v1/customers", 409, headers={"Stripe-Should-Retry": "true"})
    assert setup(api, agent).status_code == 200
    creates = [c for c in stripe_server.requests if c["path"] == "/v1/customers"]
    assert len(creates) == 2 and len({c["headers"]["idempotency-key"] for c in creates}) == 1
    assert len(stripe_server.customers) == 1


def test_a_pro_agent_that_sets_up_again_stays_pro(billing_api):
    agent = register(billing_api)
    set_agent(agent.agent_id, tier="pro")
    assert setup(billing_api, agent).json()["tier"] == "pro"
