"""Stand-ins at Gvnr's two payment boundaries, on real HTTP servers on free local ports:

- `Chain`: a Base-like ledger of USDC balances whose transactions produce receipts shaped
  like a Base node's (OP-stack fields, Transfer logs with indexed from/to, hex quantities),
  served over JSON-RPC 2.0 (`eth_chainId`, `eth_getTransactionReceipt`).
- `Facilitator`: the x402 facilitator HTTP API (`GET /supported`, `POST /verify`,
  `POST /settle`). It really checks the EIP-3009 `TransferWithAuthorization` EIP-712
  signature (recovering the signer with eth-account), the recipient, value, validity window,
  nonce reuse and the payer's balance, and settles by moving USDC on the same `Chain`, so a
  settled payment has a real receipt the node serves.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from eth_account import Account
from eth_account.messages import encode_typed_data

from handlers.gvnr.chain import TRANSFER_TOPIC

BASE_USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
OTHER_TOKEN = "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb"  # DAI on Base: not USDC


def _hex(n: int) -> str:
    return hex(n)


def _topic(address: str) -> str:
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


class Chain:
    def __init__(self, chain_id: int = 8453, usdc: str = BASE_USDC) -> None:
        self.chain_id = chain_id
        self.usdc = usdc
        self.balances: dict[str, int] = {}
        self.used_nonces: set[tuple[str, str]] = set()
        self.receipts: dict[str, dict] = {}
        self.block = 23_000_000
        self.lock = threading.Lock()
        self.fail_rpc = False  # answer every call with a JSON-RPC error (node trouble)
        self.calls: list[str] = []

    def mint(self, address: str, units: int) -> None:
        with self.lock:
            self.balances[address.lower()] = self.balances.get(address.lower(), 0) + units

    def send(self, sender: str, transfers: list[tuple[str, str, str, int]], status: int = 1) -> str:
        """Mine a transaction from `sender` emitting one Transfer log per (token, from, to, value)."""
        with self.lock:
            tx_hash = "0x" + secrets.token_hex(32)
            self.block += 1
            logs = []
            for index, (token, frm, to, value) in enumerate(transfers):
                if status == 1 and token.lower() == self.usdc.lower():
                    self.balances[frm.lower()] = self.balances.get(frm.lower(), 0) - value
                    self.balances[to.lower()] = self.balances.get(to.lower(), 0) + value
                logs.append({
                    "address": token.lower(),
                    "topics": [TRANSFER_TOPIC, _topic(frm), _topic(to)],
                    "data": "0x" + value.to_bytes(32, "big").hex(),
                    "blockNumber": _hex(self.block),
                    "transactionHash": tx_hash,
                    "transactionIndex": "0x3",
                    "blockHash": "0x" + secrets.token_hex(32),
                    "blockTimestamp": _hex(int(time.time())),
                    "logIndex": _hex(index),
                    "removed": False,
                })
            self.receipts[tx_hash] = {
                "blockHash": "0x" + secrets.token_hex(32),
                "blockNumber": _hex(self.block),
                "contractAddress": None,
                "cumulativeGasUsed": "0x2d4f1c",
                "effectiveGasPrice": "0x5f5e100",
                "from": sender.lower(),
                "gasUsed": "0xea60",
                "l1BaseFeeScalar": "0x8dd",
                "l1BlobBaseFee": "0x1",
                "l1BlobBaseFeeScalar": "0x101c12",
                "l1Fee": "0x1b3a4c4d",
                "l1GasPrice": "0x3b9aca00",
                "l1GasUsed": "0x640",
                "logs": [] if status == 0 else logs,
                "logsBloom": "0x" + "00" * 256,
                "status": _hex(status),
                "to": (transfers[0][0] if transfers else sender).lower(),
                "transactionHash": tx_hash,
                "transactionIndex": "0x3",
                "type": "0x2",
            }
            return tx_hash

    def pay(self, sender: str, to: str, units: int, token: str | None = None) -> str:
        """A plain ERC-20 transfer(to, units) by `sender`."""
        return self.send(sender, [(token or self.usdc, sender, to, units)])

    # JSON-RPC ---------------------------------------------------------------------------

    def answer(self, request: dict) -> dict:
        method, params = request.get("method"), request.get("params") or []
        self.calls.append(str(method))
        reply: dict = {"jsonrpc": "2.0", "id": request.get("id")}
        if self.fail_rpc:
            reply["error"] = {"code": -32000, "message": "header not found"}
        elif method == "eth_chainId":
            reply["result"] = _hex(self.chain_id)
        elif method == "eth_getTransactionReceipt":
            reply["result"] = self.receipts.get(str(params[0]).lower()) if params else None
        else:
            reply["error"] = {"code": -32601, "message": f"the method {method} does not exist/is not available"}
        return reply


# ------------------------------------------------------------------ the x402 facilitator

TRANSFER_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


class Facilitator:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.account = Account.create()  # the facilitator's own wallet, which submits settlements
        self.calls: list[str] = []
        self.fail = False  # answer 500 to verify and settle

    def supported(self) -> dict:
        return {"kinds": [{"x402Version": 2, "scheme": "exact", "network": f"eip155:{self.chain.chain_id}"}],
                "extensions": [], "signers": {"eip155:*": [self.account.address]}}

    def _check(self, body: dict) -> tuple[str | None, str | None, dict]:
        payload, required = body["paymentPayload"], body["paymentRequirements"]
        auth = payload["payload"]["authorization"]
        payer = auth["from"]
        accepted = payload.get("accepted", {})
        for field in ("scheme", "network", "amount", "asset", "payTo"):
            if accepted.get(field) != required.get(field):
                return "invalid_payment_requirements", payer, auth
        if required["scheme"] != "exact":
            return "unsupported_scheme", payer, auth
        if required["network"] != f"eip155:{self.chain.chain_id}":
            return "network_mismatch", payer, auth
        if auth["to"].lower() != required["payTo"].lower():
            return "invalid_exact_evm_payload_recipient_mismatch", payer, auth
        if int(auth["value"]) != int(required["amount"]):
            return "invalid_exact_evm_payload_authorization_value_mismatch", payer, auth
        now = int(time.time())
        if int(auth["validBefore"]) < now + 6:
            return "invalid_exact_evm_payload_authorization_valid_before", payer, auth
        if int(auth["validAfter"]) > now:
            return "invalid_exact_evm_payload_authorization_valid_after", payer, auth
        typed = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "TransferWithAuthorization": TRANSFER_WITH_AUTHORIZATION,
            },
            "primaryType": "TransferWithAuthorization",
            "domain": {"name": required["extra"]["name"], "version": required["extra"]["version"],
                       "chainId": self.chain.chain_id, "verifyingContract": required["asset"]},
            "message": {"from": auth["from"], "to": auth["to"], "value": int(auth["value"]),
                        "validAfter": int(auth["validAfter"]), "validBefore": int(auth["validBefore"]),
                        "nonce": bytes.fromhex(auth["nonce"].removeprefix("0x"))},
        }
        try:
            signer = Account.recover_message(encode_typed_data(full_message=typed),
                                             signature=payload["payload"]["signature"])
        except Exception:
            return "invalid_exact_evm_payload_signature", payer, auth
        if signer.lower() != payer.lower():
            return "invalid_exact_evm_payload_signature", payer, auth
        if required["asset"].lower() != self.chain.usdc.lower():
            return "invalid_exact_evm_failed_to_get_asset_info", payer, auth
        with self.chain.lock:
            if (payer.lower(), auth["nonce"].lower()) in self.chain.used_nonces:
                return "invalid_exact_evm_nonce_already_used", payer, auth
            if self.chain.balances.get(payer.lower(), 0) < int(auth["value"]):
                return "invalid_exact_evm_insufficient_balance", payer, auth
        return None, payer, auth

    def verify(self, body: dict) -> dict:
        self.calls.append("verify")
        reason, payer, _ = self._check(body)
        return {"isValid": reason is None, "payer": payer, **({"invalidReason": reason} if reason else {})}

    def settle(self, body: dict) -> dict:
        self.calls.append("settle")
        network = body["paymentRequirements"]["network"]
        reason, payer, auth = self._check(body)
        if reason is None:
            with self.chain.lock:  # transferWithAuthorization consumes the nonce atomically
                key = (payer.lower(), auth["nonce"].lower())
                if key in self.chain.used_nonces:
                    reason = "invalid_exact_evm_nonce_already_used"
                else:
                    self.chain.used_nonces.add(key)
        if reason is not None:
            return {"success": False, "errorReason": reason, "payer": payer, "transaction": "", "network": network}
        tx = self.chain.send(self.account.address, [(self.chain.usdc, auth["from"], auth["to"], int(auth["value"]))])
        return {"success": True, "payer": payer, "transaction": tx, "network": network}


# ------------------------------------------------------------------ HTTP servers

class _Handler(BaseHTTPRequestHandler):
    target: Chain | Facilitator

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: object) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if isinstance(self.target, Facilitator) and self.path.rstrip("/").endswith("/supported"):
            return self._send(200, self.target.supported())
        self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
        target = self.target
        if isinstance(target, Chain):
            if isinstance(body, list):
                return self._send(200, [target.answer(item) for item in body])
            return self._send(200, target.answer(body))
        if target.fail:
            return self._send(500, {"error": "facilitator down"})
        if self.path.rstrip("/").endswith("/verify"):
            return self._send(200, target.verify(body))
        if self.path.rstrip("/").endswith("/settle"):
            return self._send(200, target.settle(body))
        self._send(404, {"error": "not found"})


class Served:
    """`target` behind a ThreadingHTTPServer on 127.0.0.1 and a free port."""

    def __init__(self, target: Chain | Facilitator) -> None:
        handler = type("Handler", (_Handler,), {"target": target})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
