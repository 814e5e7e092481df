"""Pure payment logic: packs and amounts, receipt analysis, the top-up authorization, x402 quotes."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from handlers.gvnr import billing, chain, x402pay
from server.errors import ApiError
from server.settings import Settings
from tests.api.gvnr.chain_standin import BASE_USDC, OTHER_TOKEN, Chain

PAYTO = "0xBcF326ff22CDEc10Ca4F8AE9415Bb6884a0c26D3"
PAYER = "0x1111111111111111111111111111111111111111"
ELSEWHERE = "0x2222222222222222222222222222222222222222"


def test_transfer_topic_is_keccak_of_the_event_signature():
    assert chain.TRANSFER_TOPIC == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    assert chain.TRANSFER_TOPIC == "0x" + keccak(b"Transfer(address,address,uint256)").hex()


@pytest.mark.parametrize(("units", "ops"), [
    (19_000_000, 19_000), (1, 0), (999, 0), (1_000, 1), (5_123_456, 5_123), (100_000_000, 100_000),
])
def test_ops_are_floor_of_usd_times_1000(units, ops):
    assert billing.ops_for_base_units(units) == ops


@pytest.mark.parametrize(("raw", "cents"), [("5", "5.00"), ("1.005", "1.01"), ("99.994", "99.99"), (2.5, "2.50")])
def test_pay_as_you_go_amounts_are_whole_cents(raw, cents):
    assert billing.whole_cents(raw) == Decimal(cents)
    assert billing.base_units(billing.whole_cents(raw)) == int(Decimal(cents) * 1_000_000)


def test_packs_and_chains():
    assert {p: usd * billing.OPS_PER_USD for p, usd in billing.PACKS.items()} == {
        "starter": 19_000, "growth": 39_000, "studio": 79_000}
    assert billing.CHAINS[8453].caip2 == "eip155:8453"
    assert billing.CHAINS[84532].usdc == "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
    assert "19,000 governance operations" in billing.pack_description("starter", billing.CHAINS[8453])


def test_network_needs_a_payto_address_and_a_known_chain():
    with pytest.raises(ApiError) as missing:
        billing.network(Settings().replace(gvnr_payto_address=""))
    assert (missing.value.status_code, missing.value.code) == (503, "misconfigured_network")
    assert "GVNR_PAYTO_ADDRESS" in missing.value.message
    with pytest.raises(ApiError) as chain_id:
        billing.network(Settings().replace(gvnr_payto_address=PAYTO, gvnr_chain_id=1))
    assert "GVNR_CHAIN_ID" in chain_id.value.message
    net = billing.network(Settings().replace(gvnr_payto_address=PAYTO, gvnr_chain_id=84532))
    assert net.chain.name == "Base Sepolia" and net.payto == PAYTO


# ------------------------------------------------------------------ receipts

def _receipt(transfers, status=1):
    c = Chain()
    return c.receipts[c.send(PAYER, transfers, status=status)]


def test_usdc_transfers_to_payto_are_summed_and_their_senders_kept():
    receipt = _receipt([
        (BASE_USDC, PAYER, PAYTO, 3_000_000),
        (BASE_USDC, ELSEWHERE, PAYTO, 2_500_000),
        (BASE_USDC, PAYER, ELSEWHERE, 7_000_000),  # not to us
        (OTHER_TOKEN, PAYER, PAYTO, 9_000_000),  # not USDC
    ])
    got = chain.received(receipt, BASE_USDC, PAYTO.lower())
    assert got.units == 5_500_000
    assert got.senders == {PAYER, ELSEWHERE}


@pytest.mark.parametrize(("transfers", "status", "code"), [
    ([(BASE_USDC, PAYER, PAYTO, 1_000_000)], 0, "tx_failed"),
    ([(OTHER_TOKEN, PAYER, PAYTO, 1_000_000)], 1, "wrong_token"),
    ([(BASE_USDC, PAYER, ELSEWHERE, 1_000_000)], 1, "wrong_recipient"),
    ([], 1, "transfer_not_found"),
    ([(BASE_USDC, PAYER, PAYTO, 0)], 1, "transfer_not_found"),  # a zero-value USDC log pays nothing
])
def test_receipts_that_do_not_pay_say_why(transfers, status, code):
    with pytest.raises(ApiError) as err:
        chain.received(_receipt(transfers, status), BASE_USDC, PAYTO)
    assert (err.value.status_code, err.value.code) == (400, code)


def test_non_erc20_and_removed_logs_are_ignored():
    receipt = _receipt([(BASE_USDC, PAYER, PAYTO, 1_000_000)])
    nft = dict(receipt["logs"][0], topics=[*receipt["logs"][0]["topics"], "0x" + "00" * 31 + "07"])
    removed = dict(receipt["logs"][0], removed=True)
    assert chain.transfers({"logs": [nft, removed]}) == []
    assert [t.value for t in chain.transfers(receipt)] == [1_000_000]


# ------------------------------------------------------------------ the sender's authorization

def test_authorization_message_and_signer_recovery():
    wallet = Account.create()
    tx = "0x" + "AB" * 32
    message = chain.authorization_message("acc-1", tx, 8453)
    assert message == f"gvnr.dev top-up authorization\naccount: acc-1\ntx: {tx.lower()}\nchain: 8453"
    signature = wallet.sign_message(encode_defunct(text=message)).signature.hex()
    signature = signature if signature.startswith("0x") else "0x" + signature
    assert chain.signer_of(message, signature) == wallet.address.lower()
    # the same signature over another account's claim recovers someone else
    assert chain.signer_of(chain.authorization_message("acc-2", tx, 8453), signature) != wallet.address.lower()


@pytest.mark.parametrize("bad", ["", "0x1234", "0x" + "zz" * 65, "0x" + "00" * 65])
def test_malformed_signatures_are_invalid_signature(bad):
    with pytest.raises(ApiError) as err:
        chain.signer_of("hello", bad)
    assert err.value.code == "invalid_signature"


# ------------------------------------------------------------------ x402 quotes

def test_x402_quote_is_the_packages_v2_wire_format():
    gate = x402pay.gate(Settings().replace(gvnr_payto_address=PAYTO, gvnr_x402_facilitator_url=""))
    accepted = x402pay.requirements(gate, 5_000_000)
    headers = x402pay.payment_required(gate, accepted, "http://h/v1/account/topup?usd=5", "top-up", None)
    assert headers["Cache-Control"] == "no-store"
    wire = json.loads(base64.b64decode(headers["PAYMENT-REQUIRED"]))
    assert wire == {
        "x402Version": 2,
        "resource": {"url": "http://h/v1/account/topup?usd=5", "description": "top-up",
                     "mimeType": "application/json"},
        "accepts": [{"scheme": "exact", "network": "eip155:8453", "asset": BASE_USDC, "amount": "5000000",
                     "payTo": PAYTO, "maxTimeoutSeconds": 300, "extra": {"name": "USD Coin", "version": "2"}}],
    }
    assert not gate.facilitator.configured


def test_x402_payment_header_reading():
    assert x402pay.read_payment({}) is None
    for bad in ("not base64!", base64.b64encode(b"{}").decode(),
                base64.b64encode(json.dumps({"x402Version": 1, "scheme": "exact", "network": "base",
                                             "payload": {}}).encode()).decode()):
        with pytest.raises(ApiError) as err:
            x402pay.read_payment({"PAYMENT-SIGNATURE": bad})
        assert err.value.code == "invalid_payment"
