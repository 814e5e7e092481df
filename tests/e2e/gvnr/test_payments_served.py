"""Payments and approvals under `pentapi serve` (gunicorn, 2 uvicorn worker processes): credit
once and the approval rate window hold across processes, and the x402 package's async httpx
client pays a top-up end to end (402, sign, retry, settle) with no help from the test."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from eth_account import Account
from x402 import x402Client
from x402.http.clients import x402HttpxClient
from x402.mechanisms.evm.exact import ExactEvmClientScheme
from x402.mechanisms.evm.signers import EthAccountSigner

from tests.api.gvnr.payments_fixtures import PAYTO, sign_claim, start_rig, x402_client
from tests.e2e.workers import EXPOSE_WORKER, burst, served_by

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rig():
    r = start_rig()
    yield r
    r.close()


@pytest.fixture(scope="module")
def server(rig, tmp_path_factory):
    from tests.conftest import Server

    s = Server(tmp_path_factory.mktemp("gvnr-pay-served"), workers=2, env={
        "GVNR_PAYTO_ADDRESS": PAYTO, "GVNR_RPC_URL": rig.node.url,
        "GVNR_X402_FACILITATOR_URL": rig.facilitator_http.url, "GVNR_ACCOUNT_LIMIT_PER_IP": "1000",
        **EXPOSE_WORKER,
    })
    yield s
    s.stop()


def _account(base: str) -> tuple[str, dict[str, str]]:
    created = httpx.post(f"{base}/v1/account").json()
    return created["account_id"], {"Authorization": f"Bearer {created['api_key']}"}


def _balance(base: str, headers: dict[str, str]) -> int:
    return httpx.get(f"{base}/v1/account/balance", headers=headers).json()["operations_remaining"]


def test_concurrent_replays_of_one_transfer_credit_once_across_workers(server, rig):
    base = f"{server.url}/gvnr"
    accounts = [_account(base) for _ in range(4)]
    wallet = Account.create()
    rig.chain.mint(wallet.address, 9_000_000)
    tx = rig.chain.pay(wallet.address, PAYTO, 9_000_000)

    def claim(http: httpx.Client, i: int) -> httpx.Response:
        account_id, headers = accounts[i % 4]
        return http.post(f"{base}/v1/account/topup-verify", headers=headers,
                         json={"tx_hash": tx, "signature": sign_claim(wallet, account_id, tx)})

    responses = burst(server.url, 48, claim)
    assert len(served_by(responses)) == 2  # both processes took part
    answers = [r.json() for r in responses]
    assert sum(1 for a in answers if a.get("credited_ops") == 9_000) == 1
    assert sum(1 for a in answers if a.get("already_credited")) == 47
    assert sum(_balance(base, h) for _, h in accounts) == 4 * 25 + 9_000  # 25 trial ops each


def test_concurrent_submissions_of_one_x402_payment_credit_once_across_workers(server, rig):
    base = f"{server.url}/gvnr"
    _, headers = _account(base)
    client, wallet = x402_client()
    rig.chain.mint(wallet.address, 6_000_000)
    url = f"{base}/v1/account/topup?usd=6"
    quote = httpx.post(url, headers=headers)
    payment, _ = client.handle_402_response(dict(quote.headers), quote.content, url)
    settles_before = rig.facilitator.calls.count("settle")

    answers = burst(server.url, 32, lambda http, _: http.post(url, headers={**headers, **payment}))
    assert len(served_by(answers)) == 2  # both processes took part
    assert {a.status_code for a in answers} <= {200, 409}
    assert all(a.json()["credited_ops"] == 6_000 for a in answers if a.status_code == 200)
    assert rig.facilitator.calls.count("settle") - settles_before == 1
    assert _balance(base, headers) == 25 + 6_000


def test_the_x402_httpx_client_pays_a_pack_by_itself(server, rig):
    base = f"{server.url}/gvnr"
    _, headers = _account(base)
    wallet = Account.create()
    rig.chain.mint(wallet.address, 19_000_000)
    client = x402Client().set_spend_controls({"max_amount_per_payment": "$100"})
    client.register("eip155:8453", ExactEvmClientScheme(EthAccountSigner(wallet)))

    async def buy() -> httpx.Response:
        async with x402HttpxClient(client, timeout=30) as http:
            return await http.post(f"{base}/v1/account/topup/starter", headers=headers)

    r = asyncio.run(buy())
    assert r.status_code == 200, r.text
    assert r.json() == {"operations_remaining": 25 + 19_000, "pack": "starter", "credited_ops": 19_000}
    assert "PAYMENT-RESPONSE" in r.headers
    assert rig.chain.balances[wallet.address.lower()] == 0


def test_the_approval_window_is_exact_across_workers(server):
    base = f"{server.url}/gvnr"
    _, headers = _account(base)
    httpx.post(f"{base}/v1/account/notification-email", headers=headers, json={"email": "o@example.com"})

    def ask(http: httpx.Client, _: int) -> httpx.Response:
        return http.post(f"{base}/v1/approval/request", headers=headers,
                         json={"agent_id": "a", "action_summary": "b"})

    # Windows are clock minutes: start early in one so the burst stays inside it.
    if time.time() % 60 > 40:
        time.sleep(60 - time.time() % 60 + 0.5)
    responses = burst(server.url, 45, ask)
    assert len(served_by(responses)) == 2  # both processes took part
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 30 and statuses.count(429) == 15
