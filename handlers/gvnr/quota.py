"""The governance-operation quota: one integer counter per account, changed only by single
conditional UPDATE statements (never read-modify-write in Python), so it is exact across
threads and processes and never goes below zero.

Top-ups credit it (`credit`); an approved clearance spends one operation (handlers/gvnr/spend.py,
inside its own transaction).
"""

from __future__ import annotations

import peewee

from storage import db
from storage.gvnr import Account

OPS_PER_USD = 1000  # the service's rate: floor(usd * 1000) operations per top-up


class UnknownAccount(LookupError):
    pass


def credit_query(account_id: str, ops: int) -> peewee.ModelUpdate:
    """The one UPDATE ... RETURNING that credits: run it inside your own `db.write()` to make a
    credit part of a larger transaction (a top-up records its payment in the same one)."""
    if ops < 0:
        raise ValueError("credit takes a non-negative number of operations")
    return (Account.update(ops_remaining=Account.ops_remaining + ops)
            .where(Account.id == account_id).returning(Account.ops_remaining))


def credit(account_id: str, ops: int) -> int:
    """Add `ops` (>= 0) to the account atomically; returns the new balance."""
    query = credit_query(account_id, ops)
    with db.write():
        row = next(iter(query.execute()), None)
    if row is None:
        raise UnknownAccount(account_id)
    return row.ops_remaining


def balance(account_id: str) -> int:
    row = Account.select(Account.ops_remaining).where(Account.id == account_id).first()
    if row is None:
        raise UnknownAccount(account_id)
    return row.ops_remaining
