"""Reading USDC payments off an EVM chain: the node's JSON-RPC, receipts, and the sender's
EIP-191 authorization of a top-up claim.

A transfer is read from the transaction receipt (`eth_getTransactionReceipt`): every ERC-20
`Transfer(address indexed from, address indexed to, uint256 value)` log the USDC contract
emitted to the pay-to address counts, so a transaction that pays through a router or a
multisend is credited like a plain `transfer`. Receipt analysis is pure (unit-tested on
receipts shaped like a Base node's); the JSON-RPC call is the only I/O.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from server.errors import ApiError

TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


@dataclass(frozen=True)
class Transfer:
    token: str  # lower-case contract address
    sender: str  # lower-case
    recipient: str  # lower-case
    value: int  # token base units


@dataclass(frozen=True)
class Received:
    units: int  # USDC base units that reached the pay-to address in this transaction
    senders: frozenset[str]  # lower-case addresses those transfers came from


def _topic_address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def transfers(receipt: dict) -> list[Transfer]:
    """Every ERC-20 Transfer log of a receipt (ERC-721 Transfers have 4 topics and are skipped)."""
    found = []
    for log in receipt.get("logs") or []:
        topics = log.get("topics") or []
        if len(topics) != 3 or str(topics[0]).lower() != TRANSFER_TOPIC or log.get("removed"):
            continue
        data = str(log.get("data") or "0x")
        try:
            value = int(data, 16) if data not in ("0x", "") else 0
        except ValueError:
            continue
        found.append(Transfer(str(log.get("address", "")).lower(), _topic_address(topics[1]),
                              _topic_address(topics[2]), value))
    return found


def received(receipt: dict, usdc: str, payto: str) -> Received:
    """The USDC a mined receipt moved to `payto`, or the 400 that says why it does not count."""
    if str(receipt.get("status", "")).lower() != "0x1":
        raise ApiError(400, "tx_failed", "the transaction reverted on-chain; nothing was transferred",
                       retryable=False)
    usdc, payto = usdc.lower(), payto.lower()
    every = [t for t in transfers(receipt) if t.value > 0]  # a zero-value log moves nothing
    paid = [t for t in every if t.token == usdc and t.recipient == payto]
    if paid:
        return Received(sum(t.value for t in paid), frozenset(t.sender for t in paid))
    if any(t.recipient == payto for t in every):
        raise ApiError(400, "wrong_token", f"the transfer to the pay-to address is not USDC ({usdc})",
                       retryable=False)
    if any(t.token == usdc for t in every):
        raise ApiError(400, "wrong_recipient", f"the USDC in this transaction did not go to {payto}",
                       retryable=False)
    raise ApiError(400, "transfer_not_found", "the transaction has no USDC transfer to the pay-to address",
                   retryable=False)


# ------------------------------------------------------------------ the sender's authorization

def authorization_message(account_id: str, tx_hash: str, chain_id: int) -> str:
    """The EIP-191 text the sending wallet signs to claim its transfer for one account
    (the service's format, so wallets and pay pages built for it keep working)."""
    return "\n".join([
        "gvnr.dev top-up authorization",
        f"account: {account_id}",
        f"tx: {tx_hash.lower()}",
        f"chain: {chain_id}",
    ])


def signer_of(message: str, signature: str) -> str:
    """The lower-case address that `personal_sign`ed `message`, or 400 invalid_signature."""
    if not SIGNATURE.match(signature):
        raise invalid_signature()
    try:
        return Account.recover_message(encode_defunct(text=message), signature=signature).lower()
    except Exception:  # eth-keys raises several types for a malformed v/r/s
        raise invalid_signature() from None


def invalid_signature() -> ApiError:
    return ApiError(400, "invalid_signature", "signature must be an EIP-191 personal_sign: 0x + 130 hex",
                    retryable=False)


# ------------------------------------------------------------------ JSON-RPC

class RpcError(Exception):
    pass


def rpc_call(url: str, method: str, params: list, timeout: float) -> object:
    """One JSON-RPC 2.0 call; transport failures and error objects raise RpcError."""
    try:
        response = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                              timeout=timeout)
        response.raise_for_status()
        reply = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RpcError(f"{method}: {exc}") from None
    if not isinstance(reply, dict):
        raise RpcError(f"{method}: not a JSON-RPC response")
    if reply.get("error") is not None:
        error = reply["error"]
        raise RpcError(f"{method}: {error.get('message') if isinstance(error, dict) else error}")
    return reply.get("result")


_chain_ids: dict[str, int] = {}
_chain_ids_lock = threading.Lock()


def node_chain_id(url: str, timeout: float) -> int:
    """The chain a node serves (asked once per URL and process: it never changes)."""
    with _chain_ids_lock:
        known = _chain_ids.get(url)
    if known is not None:
        return known
    result = rpc_call(url, "eth_chainId", [], timeout)
    try:
        chain_id = int(str(result), 16)
    except ValueError:
        raise RpcError(f"eth_chainId: unexpected result {result!r}") from None
    with _chain_ids_lock:
        _chain_ids[url] = chain_id
    return chain_id


def receipt(url: str, tx_hash: str, timeout: float) -> dict | None:
    """The transaction's receipt, or None while the node does not know it (pending or unknown)."""
    result = rpc_call(url, "eth_getTransactionReceipt", [tx_hash], timeout)
    if result is not None and not isinstance(result, dict):
        raise RpcError("eth_getTransactionReceipt: unexpected result")
    return result
