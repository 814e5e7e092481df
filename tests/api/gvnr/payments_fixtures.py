"""Shared pieces of the payment tests: a served chain and facilitator, wallets, and the x402
client of the `x402` package paying with a throwaway key."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct
from x402.client import x402ClientSync
from x402.http.x402_http_client import x402HTTPClientSync
from x402.mechanisms.evm.exact import ExactEvmClientScheme
from x402.mechanisms.evm.signers import EthAccountSigner

from handlers.gvnr.chain import authorization_message
from tests.api.gvnr.chain_standin import Chain, Facilitator, Served

PAYTO = "0xBcF326ff22CDEc10Ca4F8AE9415Bb6884a0c26D3"


@dataclass
class Rig:
    chain: Chain
    facilitator: Facilitator
    node: Served
    facilitator_http: Served

    def settings(self, **changes) -> dict:
        return {"gvnr_payto_address": PAYTO, "gvnr_rpc_url": self.node.url,
                "gvnr_x402_facilitator_url": self.facilitator_http.url, **changes}

    def close(self) -> None:
        self.node.close()
        self.facilitator_http.close()


def start_rig(chain_id: int = 8453) -> Rig:
    chain = Chain(chain_id)
    facilitator = Facilitator(chain)
    return Rig(chain, facilitator, Served(chain), Served(facilitator))


def sign_claim(wallet, account_id: str, tx_hash: str, chain_id: int = 8453) -> str:
    """What the pay page has the sending wallet sign (EIP-191 personal_sign)."""
    signed = wallet.sign_message(encode_defunct(text=authorization_message(account_id, tx_hash, chain_id)))
    raw = signed.signature.hex()
    return raw if raw.startswith("0x") else "0x" + raw


def x402_client(wallet=None, network: str = "eip155:8453") -> tuple[x402HTTPClientSync, object]:
    """The x402 package's own HTTP client with its EVM exact scheme and eth-account signer."""
    wallet = wallet or Account.create()
    # The client refuses payments above $1 by default; a top-up client raises its cap to the
    # service's $100 maximum (known assets only, as by default).
    client = x402ClientSync().set_spend_controls({"max_amount_per_payment": "$100"})
    client.register(network, ExactEvmClientScheme(EthAccountSigner(wallet)))
    return x402HTTPClientSync(client), wallet
