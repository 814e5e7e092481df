"""POST /v1/account/topup?usd= and /v1/account/topup/{pack}: x402, paid by the `x402` package's
own client (EVM exact scheme, eth-account signer, throwaway key) against a local facilitator
that checks the EIP-712 TransferWithAuthorization signature and settles on a local chain."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from x402.http.utils import decode_payment_required_header, decode_payment_response_header

from handlers.gvnr import quota
from tests.api.gvnr.chain_standin import BASE_USDC
from tests.api.gvnr.conftest import P
from tests.api.gvnr.payments_fixtures import PAYTO, sign_claim, start_rig, x402_client


@pytest.fixture
def rig():
    r = start_rig()
    yield r
    r.close()


@pytest.fixture
def api(make_client, rig):
    return make_client(**rig.settings())


def _quote(api, account, path: str):
    r = api.post(f"{P}{path}", headers=account.headers)
    assert r.status_code == 402, r.text
    return r


def _pay(api, account, path: str, wallet=None):
    """Ask, get the 402, let the x402 client sign, send the payment: (response, payment headers)."""
    client, wallet = x402_client(wallet)
    quote = _quote(api, account, path)
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))
    return api.post(f"{P}{path}", headers={**account.headers, **payment}), payment


def test_no_payment_is_402_with_the_requirements_in_the_x402_header(api, account):
    r = _quote(api, account, "/v1/account/topup?usd=5.555")
    required = decode_payment_required_header(r.headers["PAYMENT-REQUIRED"])
    assert required.x402_version == 2
    assert required.resource.url.endswith("/gvnr/v1/account/topup?usd=5.555")
    (accepts,) = required.accepts
    assert (accepts.scheme, accepts.network) == ("exact", "eip155:8453")
    assert (accepts.asset, accepts.pay_to) == (BASE_USDC, PAYTO)
    assert accepts.amount == "5560000"  # canonicalised to whole cents: $5.56
    assert accepts.max_timeout_seconds == 300
    assert accepts.extra == {"name": "USD Coin", "version": "2"}
    assert r.headers["Cache-Control"] == "no-store"
    assert r.json()["error"] == "payment_required"


def test_pay_as_you_go_credits_the_quoted_amount_once(api, rig, make_account):
    account = make_account(ops=25)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 20_000_000)
    r, payment = _pay(api, account, "/v1/account/topup?usd=12.34", wallet)
    assert r.status_code == 200, r.text
    assert r.json() == {"operations_remaining": 25 + 12_340, "credited_ops": 12_340, "credited_usd": 12.34}
    settled = decode_payment_response_header(r.headers["PAYMENT-RESPONSE"])
    assert settled.success and settled.payer.lower() == wallet.address.lower()
    assert rig.chain.balances[PAYTO.lower()] == 12_340_000
    assert rig.chain.balances[wallet.address.lower()] == 20_000_000 - 12_340_000

    # The client retries the same payment (a lost response): the original answer, no second settle.
    again = api.post(f"{P}/v1/account/topup?usd=12.34", headers={**account.headers, **payment})
    assert again.status_code == 200 and again.json()["credited_ops"] == 12_340
    assert again.json()["operations_remaining"] == 25 + 12_340
    assert decode_payment_response_header(again.headers["PAYMENT-RESPONSE"]).transaction == settled.transaction
    assert rig.facilitator.calls.count("settle") == 1
    assert quota.balance(account.id) == 25 + 12_340


def test_a_pack_top_up(api, rig, make_account):
    account = make_account(ops=0)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 100_000_000)
    quote = decode_payment_required_header(_quote(api, account, "/v1/account/topup/growth").headers["PAYMENT-REQUIRED"])
    assert quote.accepts[0].amount == "39000000"
    r, _ = _pay(api, account, "/v1/account/topup/growth", wallet)
    assert r.status_code == 200, r.text
    assert r.json() == {"operations_remaining": 39_000, "pack": "growth", "credited_ops": 39_000}


def test_unknown_pack(api, account):
    r = api.post(f"{P}/v1/account/topup/platinum", headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_pack"
    assert r.json()["valid"] == ["starter", "growth", "studio"]


@pytest.mark.parametrize(("usd", "code"), [
    ("0.5", "below_minimum"), ("100.01", "above_maximum"), ("abc", "invalid_amount"), (None, "invalid_amount"),
])
def test_amount_validation(api, account, usd, code):
    r = api.post(f"{P}/v1/account/topup" + ("" if usd is None else f"?usd={usd}"), headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == code and r.json()["retryable"] is False


def test_a_payment_for_another_amount_is_refused(api, rig, account):
    client, wallet = x402_client()
    rig.chain.mint(wallet.address, 10_000_000)
    quote = _quote(api, account, "/v1/account/topup?usd=1")
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))
    r = api.post(f"{P}/v1/account/topup?usd=9", headers={**account.headers, **payment})
    assert r.status_code == 402
    assert decode_payment_required_header(r.headers["PAYMENT-REQUIRED"]).error == "No matching payment requirements"
    assert quota.balance(account.id) == 1000 and rig.facilitator.calls == []


def test_a_forged_signature_is_refused_by_the_facilitator(api, rig, account):
    client, wallet = x402_client()
    rig.chain.mint(wallet.address, 10_000_000)
    quote = _quote(api, account, "/v1/account/topup?usd=2")
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))
    (name, value), = payment.items()
    data = json.loads(base64.b64decode(value))
    data["payload"]["authorization"]["from"] = Account.create().address  # claim another payer's funds
    rig.chain.mint(data["payload"]["authorization"]["from"], 10_000_000)
    forged = base64.b64encode(json.dumps(data).encode()).decode()
    r = api.post(f"{P}/v1/account/topup?usd=2", headers={**account.headers, name: forged})
    assert r.status_code == 402
    error = decode_payment_required_header(r.headers["PAYMENT-REQUIRED"]).error
    assert error == "invalid_exact_evm_payload_signature"
    assert quota.balance(account.id) == 1000


def test_an_unfunded_wallet_is_refused_and_can_pay_after_funding(api, rig, account):
    client, wallet = x402_client()
    quote = _quote(api, account, "/v1/account/topup?usd=3")
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))
    r = api.post(f"{P}/v1/account/topup?usd=3", headers={**account.headers, **payment})
    assert r.status_code == 402
    error = decode_payment_required_header(r.headers["PAYMENT-REQUIRED"]).error
    assert error == "invalid_exact_evm_insufficient_balance"
    rig.chain.mint(wallet.address, 3_000_000)  # nothing was held: the same payment now goes through
    ok = api.post(f"{P}/v1/account/topup?usd=3", headers={**account.headers, **payment})
    assert ok.status_code == 200 and ok.json()["credited_ops"] == 3_000


def test_someone_elses_payment_cannot_be_replayed_by_another_account(api, rig, make_account):
    payer, thief = make_account(ops=0), make_account(ops=0)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 5_000_000)
    r, payment = _pay(api, payer, "/v1/account/topup?usd=5", wallet)
    assert r.status_code == 200
    stolen = api.post(f"{P}/v1/account/topup?usd=5", headers={**thief.headers, **payment})
    assert stolen.status_code == 402
    assert decode_payment_required_header(stolen.headers["PAYMENT-REQUIRED"]).error == "this payment was already used"
    assert quota.balance(thief.id) == 0


def test_the_settlement_transaction_cannot_be_credited_again_through_topup_verify(api, rig, make_account):
    account = make_account(ops=0)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 4_000_000)
    r, _ = _pay(api, account, "/v1/account/topup?usd=4", wallet)
    tx = decode_payment_response_header(r.headers["PAYMENT-RESPONSE"]).transaction
    again = api.post(f"{P}/v1/account/topup-verify", headers=account.headers,
                     json={"tx_hash": tx, "signature": sign_claim(wallet, account.id, tx)})
    assert again.json() == {"operations_remaining": 4_000, "already_credited": True}


def test_concurrent_submissions_of_one_payment_settle_and_credit_once(api, rig, make_account):
    account = make_account(ops=0)
    client, wallet = x402_client()
    rig.chain.mint(wallet.address, 7_000_000)
    quote = _quote(api, account, "/v1/account/topup?usd=7")
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))

    def submit(_):
        return api.post(f"{P}/v1/account/topup?usd=7", headers={**account.headers, **payment})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(submit, range(12)))
    statuses = sorted({a.status_code for a in answers})
    assert set(statuses) <= {200, 409}
    assert all(a.json()["credited_ops"] == 7_000 for a in answers if a.status_code == 200)
    assert all(a.json()["error"] == "payment_in_progress" for a in answers if a.status_code == 409)
    assert rig.facilitator.calls.count("settle") == 1
    assert quota.balance(account.id) == 7_000
    assert rig.chain.balances[PAYTO.lower()] == 7_000_000


def test_without_a_facilitator_quotes_work_and_payments_are_misconfigured(make_client, rig):
    api = make_client(**rig.settings(gvnr_x402_facilitator_url=""))
    from handlers.gvnr import provisioning

    row, key = provisioning.create_account(ops=0)
    headers = {"Authorization": f"Bearer {key}"}
    client, wallet = x402_client()
    quote = api.post(f"{P}/v1/account/topup?usd=1", headers=headers)
    assert quote.status_code == 402
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))
    r = api.post(f"{P}/v1/account/topup?usd=1", headers={**headers, **payment})
    assert r.status_code == 503 and r.json()["error"] == "misconfigured_network"
    assert "GVNR_X402_FACILITATOR_URL" in r.json()["hint"]


def test_a_failing_facilitator_is_a_retryable_502_and_nothing_is_held(api, rig, account):
    client, wallet = x402_client()
    rig.chain.mint(wallet.address, 1_000_000)
    quote = _quote(api, account, "/v1/account/topup?usd=1")
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, str(quote.url))
    rig.facilitator.fail = True
    r = api.post(f"{P}/v1/account/topup?usd=1", headers={**account.headers, **payment})
    assert r.status_code == 502 and r.json()["error"] == "facilitator_error" and r.json()["retryable"] is True
    rig.facilitator.fail = False
    ok = api.post(f"{P}/v1/account/topup?usd=1", headers={**account.headers, **payment})
    assert ok.status_code == 200 and ok.json()["credited_ops"] == 1_000


def test_a_malformed_payment_header_is_400(api, account):
    r = api.post(f"{P}/v1/account/topup?usd=1", headers={**account.headers, "PAYMENT-SIGNATURE": "%%%"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_payment"


def test_without_a_payto_address_topups_are_misconfigured(make_client):
    from handlers.gvnr import provisioning

    api = make_client(gvnr_payto_address="")
    _, key = provisioning.create_account(ops=0)
    r = api.post(f"{P}/v1/account/topup/starter", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 503 and r.json()["error"] == "misconfigured_network"


def test_topup_needs_a_key(api):
    assert api.post(f"{P}/v1/account/topup?usd=5").status_code == 401
