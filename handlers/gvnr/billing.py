"""What Gvnr sells and where it is paid: packs, the rate of operations per dollar, the chains.

Amounts are kept in integer USDC base units (6 decimals, i.e. micro-dollars) so a top-up is
credited exactly: floor(usd x 1000) operations is `base_units // 1000`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from eth_account import Account
from eth_account.signers.local import LocalAccount

from server import tokens
from server.errors import ApiError
from server.settings import Settings

OPS_PER_USD = 1000
USDC_DECIMALS = 6
BASE_UNITS_PER_USD = 10**USDC_DECIMALS

# Preset packs (the service's x402 presets): price in whole dollars; ops = price x 1000.
PACKS: dict[str, int] = {"starter": 19, "growth": 39, "studio": 79}

# Pay-as-you-go bounds of POST /v1/account/topup?usd= (the spec's minimum and maximum).
TOPUP_MIN_USD = Decimal("1")
TOPUP_MAX_USD = Decimal("100")

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
AUTO = "auto"  # GVNR_PAYTO_ADDRESS: use the locally generated wallet
WALLET_FILE = "payto-wallet.key"


@dataclass(frozen=True)
class Chain:
    chain_id: int
    name: str
    usdc: str  # the USDC contract (checksummed, as Circle publishes it)
    usdc_eip712_name: str  # EIP-712 domain of that contract (EIP-3009 transferWithAuthorization)
    usdc_eip712_version: str

    @property
    def caip2(self) -> str:
        """The x402 network id (CAIP-2)."""
        return f"eip155:{self.chain_id}"


CHAINS: dict[int, Chain] = {
    8453: Chain(8453, "Base mainnet", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", "2"),
    84532: Chain(84532, "Base Sepolia", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2"),
}


@dataclass(frozen=True)
class Network:
    """The configured chain plus the address payments go to."""

    chain: Chain
    payto: str


def network(settings: Settings) -> Network:
    """The payment network from settings, or 503 misconfigured_network saying what is missing."""
    chain = CHAINS.get(settings.gvnr_chain_id)
    if chain is None:
        raise misconfigured(f"GVNR_CHAIN_ID must be one of {sorted(CHAINS)}")
    payto = local_wallet(settings).address if settings.gvnr_payto_address == AUTO else settings.gvnr_payto_address
    if not ADDRESS.match(payto):
        raise misconfigured("set GVNR_PAYTO_ADDRESS to the 0x address that receives USDC")
    return Network(chain, payto)


def local_wallet(settings: Settings) -> LocalAccount:
    """The receiving wallet of GVNR_PAYTO_ADDRESS=auto: its private key is generated once into
    <data_dir>/gvnr/payto-wallet.key (0600), so a fresh server can quote prices and take
    payments into a wallet only its operator controls (never a stranger's address)."""
    return Account.from_key("0x" + tokens.local_secret(settings.data_dir / "gvnr" / WALLET_FILE))


def misconfigured(hint: str) -> ApiError:
    return ApiError(503, "misconfigured_network", hint, retryable=False)


def ops_for_base_units(units: int) -> int:
    """floor(usd x 1000) for an amount in USDC base units, in exact integer arithmetic."""
    return units * OPS_PER_USD // BASE_UNITS_PER_USD


def base_units(usd: Decimal) -> int:
    return int(usd * BASE_UNITS_PER_USD)


def usd_of(units: int) -> float:
    return units / BASE_UNITS_PER_USD


def whole_cents(usd: float | Decimal | str) -> Decimal:
    """The pay-as-you-go amount canonicalised to whole cents (half up), as the service quotes it."""
    return Decimal(str(usd)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def pack_description(pack: str, chain: Chain) -> str:
    usd = PACKS[pack]
    return (f"{pack.capitalize()} pack: {usd * OPS_PER_USD:,} governance operations for ${usd} "
            f"in USDC on {chain.name}; operations never expire")
