"""Top-ups, the two doors: a USDC transfer verified on-chain (topup-verify) and an x402 payment
settled by a facilitator (topup). Both credit through one ledger (storage.gvnr.Payment).

Credit-once is the database's job, not Python's: the ledger row and the credit are written in
one transaction, and the row's primary key (the payment) and unique (chain, tx hash) index
make a replay - concurrent or years later, through either door - fail to insert, which is
then answered as `already_credited`. An x402 payment is first *claimed* (a pending row keyed
by its EIP-3009 payer and nonce) so that concurrent submissions of one payment settle once.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import typing as t
from dataclasses import dataclass

import peewee

from handlers.gvnr import billing, chain, quota, x402pay
from server.errors import ApiError
from server.settings import Settings
from storage import db, writer
from storage.gvnr import Payment
from storage.writer import Conn

log = logging.getLogger("pentapi.gvnr.topups")


@dataclass(frozen=True)
class Credit:
    operations_remaining: int
    credited_ops: int | None = None
    credited_usd: float | None = None
    already_credited: bool | None = None  # True on a replay; absent otherwise


def _now_ms() -> int:
    return int(time.time() * 1000)


_INSERT = ("INSERT INTO gvnr_payment (key, account_id, method, chain_id, tx_hash, state, units, ops, claimed_at, "
           "credited_at) VALUES (:key, :account_id, :method, :chain_id, :tx_hash, :state, :units, :ops, :claimed_at, "
           ":credited_at)")
_MARK = ("UPDATE gvnr_payment SET state = 'credited', tx_hash = ?, credited_at = ? "
         "WHERE key = ? AND state = 'pending'")
# A replay's insert (or mark) fails on the ledger's unique keys: sqlite3's error from the writer's
# own connection, Peewee's on other databases.
_DUPLICATE = (sqlite3.IntegrityError, peewee.IntegrityError)


def _record_job(conn: Conn, row: dict[str, t.Any], account_id: str, ops: int) -> int:
    conn.execute(_INSERT, row)
    return quota.credit_in(conn, account_id, ops)


def _record(row: dict[str, t.Any], account_id: str, ops: int) -> int:
    """Insert the ledger row and credit `ops` in one writer job; a replay raises IntegrityError."""
    return writer.call(_record_job, row, account_id, ops)


def _balance(account_id: str) -> int:
    return quota.balance(account_id)


# ------------------------------------------------------------------ transfers (topup-verify)

def verify_transfer(settings: Settings, account_id: str, tx_hash: t.Any, signature: t.Any) -> Credit:
    """Credit the USDC a mined transaction sent to the pay-to address, once per transaction."""
    if not isinstance(tx_hash, str) or not chain.TX_HASH.match(tx_hash):
        raise ApiError(400, "invalid_tx_hash", "tx_hash must be 0x followed by 64 hex characters", retryable=False)
    net = billing.network(settings)
    if not settings.gvnr_rpc_url:
        raise billing.misconfigured("set GVNR_RPC_URL to the JSON-RPC URL of a Base node")
    if signature is not None and (not isinstance(signature, str) or not chain.SIGNATURE.match(signature)):
        raise chain.invalid_signature()
    tx, chain_id = tx_hash.lower(), net.chain.chain_id
    if Payment.select().where((Payment.chain_id == chain_id) & (Payment.tx_hash == tx)).exists():
        return Credit(_balance(account_id), already_credited=True)

    url, timeout = settings.gvnr_rpc_url, settings.gvnr_rpc_timeout_seconds
    try:
        served = chain.node_chain_id(url, timeout)
        if served != chain_id:
            raise billing.misconfigured(f"the node at GVNR_RPC_URL serves chain {served}, not {chain_id}")
        receipt = chain.receipt(url, tx, timeout)
    except chain.RpcError as exc:
        raise ApiError(400, "rpc_error", f"the chain node did not answer: {exc}", retryable=True) from None
    if receipt is None:
        raise ApiError(400, "tx_not_found", f"no mined transaction {tx} on {net.chain.name} (yet); retry shortly",
                       retryable=True)
    got = chain.received(receipt, net.chain.usdc, net.payto)

    if signature is None and settings.gvnr_topup_require_signature:
        raise ApiError(400, "signature_required",
                       "sign this text with the sending wallet (personal_sign) and send it as signature: "
                       + chain.authorization_message(account_id, tx, chain_id).replace("\n", "\\n"),
                       retryable=False)
    if signature is not None:
        signer = chain.signer_of(chain.authorization_message(account_id, tx, chain_id), signature)
        if signer not in got.senders:
            raise ApiError(403, "sender_mismatch", "the signature is not from a wallet that sent this USDC",
                           retryable=False)

    ops = billing.ops_for_base_units(got.units)
    now = _now_ms()
    row = dict(key=f"transfer:{chain_id}:{tx}", account_id=account_id, method="transfer", chain_id=chain_id,
               tx_hash=tx, state="credited", units=got.units, ops=ops, claimed_at=now, credited_at=now)
    try:
        remaining = _record(row, account_id, ops)
    except _DUPLICATE:  # a concurrent replay (any worker process) credited it first
        return Credit(_balance(account_id), already_credited=True)
    return Credit(remaining, ops, billing.usd_of(got.units))


# ------------------------------------------------------------------ x402 (topup)

@dataclass(frozen=True)
class Paid:
    """What a top-up handler answers: a credit with its settlement headers, or a 402 quote."""

    credit: Credit | None
    headers: dict[str, str]
    error: str | None = None  # the x402 error of a 402


def pay_x402(settings: Settings, account_id: str, units: int, headers: t.Mapping[str, str],
             resource_url: str, description: str) -> Paid:
    """Quote `units` USDC (402) or take the request's x402 payment of exactly that and credit it once."""
    gate = x402pay.gate(settings)
    accepted = x402pay.requirements(gate, units)

    def quote(error: str) -> Paid:
        return Paid(None, x402pay.payment_required(gate, accepted, resource_url, description, error), error)

    payload = x402pay.read_payment(headers)
    if payload is None:
        return quote("Payment required")
    if not x402pay.matches(gate, accepted, payload):
        return quote("No matching payment requirements")
    auth = x402pay.authorization(payload)
    if auth is None:
        return quote("Only exact EIP-3009 (transferWithAuthorization) payments are accepted")
    if not gate.facilitator.configured:
        raise billing.misconfigured("set GVNR_X402_FACILITATOR_URL to accept x402 payments")

    chain_id = gate.network.chain.chain_id
    key = f"x402:{chain_id}:{auth.payer}:{auth.nonce}"
    ops = billing.ops_for_base_units(units)
    claim = _claim(key, account_id, chain_id, units, ops, settings)
    if claim is None:
        return _replay(key, account_id, gate, quote)

    if claim == "new":  # a taken-over claim goes straight to settle, which reconciles a broadcast one
        try:
            verified = x402pay.verify(gate, payload, accepted)
        except x402pay.FacilitatorError as exc:
            _release(key)
            raise ApiError(502, "facilitator_error", str(exc), retryable=True) from None
        if not verified.is_valid:
            _release(key)
            return quote(verified.invalid_reason or "invalid_payment")
    try:
        settled = x402pay.settle(gate, payload, accepted)
    except x402pay.FacilitatorError as exc:
        # The outcome is unknown (the facilitator may have broadcast it): keep the claim; a retry
        # of the same payment after the timeout takes it over and asks the facilitator again.
        log.warning("x402 settle for %s failed, outcome unknown: %s", key, exc)
        raise ApiError(502, "facilitator_error", f"{exc}; retry the same payment", retryable=True) from None
    if not settled.success or not settled.transaction:
        _release(key)
        failed = quote(settled.error_reason or "settlement failed")
        return Paid(None, {**failed.headers, **x402pay.settlement_headers(settled)}, failed.error)

    remaining = _settle_credit(key, account_id, chain_id, settled.transaction.lower(), ops)
    if remaining is None:  # the settlement tx was already credited through topup-verify
        return Paid(Credit(_balance(account_id), 0, 0.0, already_credited=True), x402pay.settlement_headers(settled))
    return Paid(Credit(remaining, ops, billing.usd_of(units)), x402pay.settlement_headers(settled))


def _claim(key: str, account_id: str, chain_id: int, units: int, ops: int, settings: Settings) -> str | None:
    """Claim the payment for settling ("new"), or take over this account's claim whose settle
    outcome stayed unknown past the facilitator timeout ("taken_over"); None when held or done."""
    now = _now_ms()
    insert = Payment.insert(key=key, account_id=account_id, method="x402", chain_id=chain_id, tx_hash=None,
                            state="pending", units=units, ops=ops, claimed_at=now)
    stale = now - int((settings.gvnr_x402_timeout_seconds + 5) * 1000)
    take_over = (Payment.update(claimed_at=now)
                 .where((Payment.key == key) & (Payment.state == "pending") & (Payment.account_id == account_id)
                        & (Payment.claimed_at < stale)))
    try:
        with db.write():
            insert.execute()
        return "new"
    except peewee.IntegrityError:
        with db.write():
            return "taken_over" if take_over.execute() == 1 else None


def _release(key: str) -> None:
    """Nothing moved: forget the claim so a corrected payment can be sent again."""
    query = Payment.delete().where((Payment.key == key) & (Payment.state == "pending"))
    with db.write():
        query.execute()


def _settle_job(conn: Conn, key: str, account_id: str, tx: str, ops: int) -> int | None:
    if conn.execute(_MARK, (tx, _now_ms(), key)).rowcount != 1:
        raise writer.Rollback(None)  # the claim is gone: nothing to credit
    return quota.credit_in(conn, account_id, ops)


def _settle_credit(key: str, account_id: str, chain_id: int, tx: str, ops: int) -> int | None:
    """Mark the claim credited with its settlement tx and credit, in one writer job; None when
    the settlement tx was already credited (through topup-verify) or the claim was lost."""
    try:
        return writer.call(_settle_job, key, account_id, tx, ops)
    except _DUPLICATE:
        return None


def _replay(key: str, account_id: str, gate: x402pay.Gate, quote: t.Callable[[str], Paid]) -> Paid:
    """The same payment again: the original credit if it is this account's, else refused."""
    row = Payment.get_or_none(Payment.key == key)
    if row is None or row.account_id != account_id:
        return quote("this payment was already used")
    if row.state == "pending":
        raise ApiError(409, "payment_in_progress", "this payment is being settled; retry shortly",
                       retryable=True, retry_after_ms=1000)
    settled = x402pay.SettleResponse(success=True, transaction=row.tx_hash or "", network=gate.network.chain.caip2,
                                     payer=key.split(":")[2], amount=str(row.units))
    return Paid(Credit(_balance(account_id), row.ops, billing.usd_of(row.units)), x402pay.settlement_headers(settled))
