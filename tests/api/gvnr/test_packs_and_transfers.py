"""GET /v1/packs/{pack}/info and POST /v1/account/topup-verify(/{pack}) against a local Base
JSON-RPC node serving real receipt shapes."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from x402.http.utils import decode_payment_required_header

from handlers.gvnr import provisioning, quota
from tests.api.gvnr.chain_standin import BASE_USDC, OTHER_TOKEN
from tests.api.gvnr.conftest import P
from tests.api.gvnr.payments_fixtures import PAYTO, sign_claim, start_rig

SEPOLIA_USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"


@pytest.fixture
def rig():
    r = start_rig()
    yield r
    r.close()


@pytest.fixture
def api(make_client, rig):
    """The app with a pay-to address, the local node and facilitator (the accounts fixtures use it)."""
    return make_client(**rig.settings())


# ------------------------------------------------------------------ packs

@pytest.mark.parametrize(("pack", "usd"), [("starter", 19), ("growth", 39), ("studio", 79)])
def test_pack_info(api, pack, usd):
    r = api.get(f"{P}/v1/packs/{pack}/info")
    assert r.status_code == 200
    body = r.json()
    assert body == {
        "pack": pack, "amount_usd": usd, "ops": usd * 1000, "description": body["description"],
        "network_name": "Base mainnet", "chain_id": 8453, "usdc_contract": BASE_USDC,
        "usdc_amount_raw": str(usd * 1_000_000), "payto_address": PAYTO,
    }
    assert f"{usd * 1000:,} governance operations" in body["description"]


def test_pack_info_on_base_sepolia(make_client):
    api = make_client(gvnr_payto_address=PAYTO, gvnr_chain_id=84532)
    body = api.get(f"{P}/v1/packs/growth/info").json()
    assert (body["chain_id"], body["network_name"], body["usdc_contract"]) == (84532, "Base Sepolia", SEPOLIA_USDC)


def test_unknown_pack_is_invalid_pack_with_the_valid_ones(api):
    r = api.get(f"{P}/v1/packs/enterprise/info")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_pack"
    assert r.json()["valid"] == ["starter", "growth", "studio"]


def test_a_fresh_server_quotes_into_its_own_generated_wallet(make_client, settings):
    """GVNR_PAYTO_ADDRESS=auto (the embedded default): a receiving wallet generated once into
    the data dir, its key readable only by the operator; pack info and x402 quote to it."""
    api = make_client()
    info = api.get(f"{P}/v1/packs/starter/info")
    assert info.status_code == 200
    key_file = settings.data_dir / "gvnr" / "payto-wallet.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    address = Account.from_key("0x" + key_file.read_text().strip()).address
    assert info.json()["payto_address"] == address
    row, key = provisioning.create_account(ops=10)
    quote = api.post(f"{P}/v1/account/topup/starter", headers={"Authorization": f"Bearer {key}"})
    assert quote.status_code == 402
    (accepts,) = decode_payment_required_header(quote.headers["PAYMENT-REQUIRED"]).accepts
    assert (accepts.pay_to, accepts.amount) == (address, "19000000")
    assert make_client().get(f"{P}/v1/packs/growth/info").json()["payto_address"] == address  # kept


def test_pack_info_without_a_payto_address_is_misconfigured_network(make_client):
    r = make_client(gvnr_payto_address="").get(f"{P}/v1/packs/starter/info")
    assert r.status_code == 503
    assert r.json()["error"] == "misconfigured_network" and "GVNR_PAYTO_ADDRESS" in r.json()["hint"]
    assert r.json()["retryable"] is False


# ------------------------------------------------------------------ topup-verify

def _verify(api, account, tx, signature=None, path="/v1/account/topup-verify"):
    body = {"tx_hash": tx} if signature is None else {"tx_hash": tx, "signature": signature}
    return api.post(f"{P}{path}", json=body, headers=account.headers)


def test_a_transfer_credits_floor_usd_times_1000_once(api, rig, make_account):
    account = make_account(ops=25)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 50_000_000)
    tx = rig.chain.pay(wallet.address, PAYTO, 7_654_321)  # $7.654321
    r = _verify(api, account, tx, sign_claim(wallet, account.id, tx))
    assert r.status_code == 200, r.text
    assert r.json() == {"operations_remaining": 25 + 7_654, "credited_ops": 7_654, "credited_usd": 7.654321}
    assert quota.balance(account.id) == 25 + 7_654
    again = _verify(api, account, tx.upper().replace("0X", "0x"), sign_claim(wallet, account.id, tx))
    assert again.status_code == 200
    assert again.json() == {"operations_remaining": 25 + 7_654, "already_credited": True}
    assert rig.chain.calls.count("eth_getTransactionReceipt") == 1  # the replay never asked the node


def test_the_pack_alias_ignores_the_pack(api, rig, make_account):
    account = make_account(ops=0)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 1_000_000)
    tx = rig.chain.pay(wallet.address, PAYTO, 1_000_000)
    r = _verify(api, account, tx, sign_claim(wallet, account.id, tx), path="/v1/account/topup-verify/studio")
    assert r.status_code == 200 and r.json()["credited_ops"] == 1_000


def test_another_account_cannot_claim_a_credited_transfer(api, rig, make_account):
    payer, thief = make_account(ops=0), make_account(ops=5)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 10_000_000)
    tx = rig.chain.pay(wallet.address, PAYTO, 10_000_000)
    assert _verify(api, payer, tx, sign_claim(wallet, payer.id, tx)).json()["credited_ops"] == 10_000
    r = _verify(api, thief, tx, sign_claim(wallet, thief.id, tx))
    assert r.json() == {"operations_remaining": 5, "already_credited": True}


def test_a_claim_must_be_signed_by_the_sender(api, rig, make_account):
    account = make_account(ops=0)
    sender, stranger = Account.create(), Account.create()
    rig.chain.mint(sender.address, 5_000_000)
    tx = rig.chain.pay(sender.address, PAYTO, 5_000_000)
    missing = _verify(api, account, tx)
    assert missing.status_code == 400 and missing.json()["error"] == "signature_required"
    assert "gvnr.dev top-up authorization" in missing.json()["hint"]
    wrong = _verify(api, account, tx, sign_claim(stranger, account.id, tx))
    assert wrong.status_code == 403 and wrong.json()["error"] == "sender_mismatch"
    other_account = _verify(api, account, tx, sign_claim(sender, "someone-else", tx))
    assert other_account.status_code == 403  # a signature is bound to one account
    malformed = _verify(api, account, tx, "0x1234")
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_signature"
    assert quota.balance(account.id) == 0
    assert _verify(api, account, tx, sign_claim(sender, account.id, tx)).json()["credited_ops"] == 5_000


def test_signature_can_be_made_optional_by_setting(make_client, rig, make_account):
    api = make_client(**rig.settings(gvnr_topup_require_signature=False))
    account = make_account(ops=0)
    sender = Account.create()
    rig.chain.mint(sender.address, 2_000_000)
    tx = rig.chain.pay(sender.address, PAYTO, 2_000_000)
    assert _verify(api, account, tx).json()["credited_ops"] == 2_000


@pytest.mark.parametrize("tx", ["", "0x123", "ab" * 32, "0x" + "g" * 64, "0x" + "a" * 65])
def test_malformed_tx_hashes(api, account, tx):
    r = _verify(api, account, tx)
    assert r.status_code == 400 and r.json()["error"] == "invalid_tx_hash" and r.json()["retryable"] is False


def test_a_non_string_tx_hash_is_invalid_tx_hash(api, account):
    r = api.post(f"{P}/v1/account/topup-verify", json={"tx_hash": 42}, headers=account.headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_tx_hash"


def test_transactions_that_do_not_pay(api, rig, account):
    wallet = Account.create()
    rig.chain.mint(wallet.address, 100_000_000)
    cases = {
        "tx_not_found": "0x" + "ab" * 32,
        "tx_failed": rig.chain.send(wallet.address, [(BASE_USDC, wallet.address, PAYTO, 1_000_000)], status=0),
        "wrong_token": rig.chain.pay(wallet.address, PAYTO, 1_000_000, token=OTHER_TOKEN),
        "wrong_recipient": rig.chain.pay(wallet.address, "0x" + "33" * 20, 1_000_000),
        "transfer_not_found": rig.chain.send(wallet.address, []),
    }
    for code, tx in cases.items():
        r = _verify(api, account, tx, sign_claim(wallet, account.id, tx))
        assert (r.status_code, r.json()["error"]) == (400, code), code
        assert r.json()["retryable"] is (code == "tx_not_found")


def test_node_trouble_is_a_retryable_rpc_error(api, rig, account):
    rig.chain.fail_rpc = True
    r = _verify(api, account, "0x" + "cd" * 32)
    assert r.status_code == 400 and r.json()["error"] == "rpc_error" and r.json()["retryable"] is True


def test_a_node_of_another_chain_is_misconfigured(make_client, rig, account):
    api = make_client(**rig.settings(gvnr_chain_id=84532))  # the node serves 8453
    r = _verify(api, account, "0x" + "cd" * 32)
    assert r.status_code == 503 and r.json()["error"] == "misconfigured_network" and "8453" in r.json()["hint"]


def test_no_node_configured_is_misconfigured_network(make_client, account):
    api = make_client(gvnr_payto_address=PAYTO)
    r = _verify(api, account, "0x" + "cd" * 32)
    assert r.status_code == 503 and r.json()["error"] == "misconfigured_network" and "GVNR_RPC_URL" in r.json()["hint"]


def test_topup_verify_needs_a_key(api):
    r = api.post(f"{P}/v1/account/topup-verify", json={"tx_hash": "0x" + "00" * 32})
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key"


def test_concurrent_replays_credit_once(api, rig, make_account):
    accounts = [make_account(ops=0) for _ in range(4)]
    wallet = Account.create()
    rig.chain.mint(wallet.address, 3_000_000)
    tx = rig.chain.pay(wallet.address, PAYTO, 3_000_000)

    def claim(i: int):
        a = accounts[i % len(accounts)]
        return _verify(api, a, tx, sign_claim(wallet, a.id, tx)).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(claim, range(16)))
    credited = [a for a in answers if a.get("credited_ops")]
    assert len(credited) == 1 and credited[0]["credited_ops"] == 3_000
    assert sum(1 for a in answers if a.get("already_credited")) == 15
    assert sum(quota.balance(a.id) for a in accounts) == 3_000
