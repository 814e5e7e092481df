"""The governance-operation quota: one integer counter per account, changed only by single
conditional statements (never read-modify-write in Python), so it is exact across threads and
processes and never goes below zero (the column also has CHECK (ops_remaining >= 0)).

Top-ups credit it (`credit`); an approved clearance spends one operation (handlers/gvnr/spend.py,
inside its own transaction).
"""

from __future__ import annotations

from storage import writer
from storage.writer import Conn

OPS_PER_USD = 1000  # the service's rate: floor(usd * 1000) operations per top-up


class UnknownAccount(LookupError):
    def __str__(self) -> str:
        return f"no account {self.args[0]}"


_CREDIT = "UPDATE gvnr_account SET ops_remaining = ops_remaining + ? WHERE id = ? RETURNING ops_remaining"
_BALANCE = "SELECT ops_remaining FROM gvnr_account WHERE id = ?"


def credit(account_id: str, ops: int) -> int:
    """Add `ops` (>= 0) to the account atomically; returns the new balance."""
    if ops < 0:
        raise ValueError("credit takes a non-negative number of operations")
    return writer.call(_credit, account_id, ops)


def credit_in(conn: Conn, account_id: str, ops: int) -> int:
    """The credit as one step of a larger writer job (a top-up records its payment in the same
    transaction); returns the new balance, UnknownAccount rolls the job back."""
    if ops < 0:
        raise ValueError("credit takes a non-negative number of operations")
    return _credit(conn, account_id, ops)


def _credit(conn: Conn, account_id: str, ops: int) -> int:
    row = conn.execute(_CREDIT, (ops, account_id)).fetchone()
    if row is None:
        raise UnknownAccount(account_id)
    return row[0]


def balance(account_id: str) -> int:
    return writer.read(_balance, account_id)


def _balance(conn: Conn, account_id: str) -> int:
    row = conn.execute(_BALANCE, (account_id,)).fetchone()
    if row is None:
        raise UnknownAccount(account_id)
    return row[0]
