"""Gvnr tables: accounts (hashed `bg_` key, operation quota, notification email), per-agent
spend envelopes and their pending clearances, rate envelopes, idempotency keys, and fixed
windows for the service's own limits (account provisioning per address, ...).

Money is integer nano-dollars (1e-9 USD) and times are integer unix milliseconds, so every
counter is exact and every comparison happens inside one SQL statement. Only the SHA-256 of
an account key is stored.
"""

from __future__ import annotations

import peewee

from storage.base import BaseModel
from storage.windows import WindowTable


def _created() -> peewee.DateTimeField:
    # Rows written by raw SQL on the hot path (handlers/gvnr/writer.py) omit created_at, so the
    # database supplies it; no index on it, so no extra B-tree write per row.
    return peewee.DateTimeField(constraints=[peewee.SQL("DEFAULT CURRENT_TIMESTAMP")])


class Account(BaseModel):
    id = peewee.CharField(primary_key=True)  # a v4 UUID
    key_digest = peewee.CharField(unique=True)  # SHA-256 hex of the bg_ key
    ops_remaining = peewee.BigIntegerField(default=0)  # governance operations left, never < 0
    notification_email = peewee.CharField(null=True)  # where approval requests are sent

    class Meta:
        table_name = "gvnr_account"
        constraints = [peewee.SQL("CHECK (ops_remaining >= 0)")]


class SpendEnvelope(BaseModel):
    """A per-agent USD cap over a window: `daily` resets at 00:00 UTC, `session` never."""

    created_at = _created()
    account = peewee.ForeignKeyField(Account, on_delete="CASCADE")
    agent_id = peewee.CharField()
    limit_nano = peewee.BigIntegerField()
    spent_nano = peewee.BigIntegerField(default=0)  # may exceed the limit after a reconcile
    window_type = peewee.CharField(default="daily")  # the spec's `window`: daily | session
    reset_at = peewee.BigIntegerField()  # unix ms of the next reset (informational for session)

    class Meta:
        table_name = "gvnr_spend_envelope"
        primary_key = peewee.CompositeKey("account", "agent_id")


class Clearance(BaseModel):
    """An approved clearance waiting for its reconcile; settled oldest first, then deleted."""

    created_at = _created()
    seq = peewee.AutoField()  # the order clearances were approved in
    account = peewee.ForeignKeyField(Account, on_delete="CASCADE")
    agent_id = peewee.CharField()
    model = peewee.CharField()  # as the caller named it
    input_milli = peewee.BigIntegerField()  # priced at clear time: milli-USD per 1M input tokens
    output_milli = peewee.BigIntegerField()  # ... and per 1M output tokens
    estimated_nano = peewee.BigIntegerField()
    window_reset_at = peewee.BigIntegerField()  # the envelope window it was charged to
    cleared_at = peewee.BigIntegerField()  # unix ms

    class Meta:
        table_name = "gvnr_clearance"
        indexes = ((("account", "agent_id", "seq"), False), (("cleared_at",), False))


class RateEnvelope(BaseModel):
    """Requests per fixed 60 s window for one (agent, provider, model)."""

    created_at = _created()
    account = peewee.ForeignKeyField(Account, on_delete="CASCADE")
    agent_id = peewee.CharField()
    provider = peewee.CharField()
    model = peewee.CharField()
    requests_per_minute = peewee.IntegerField()
    window_start = peewee.BigIntegerField()  # unix ms when the current window opened
    requests_in_window = peewee.IntegerField(default=0)

    class Meta:
        table_name = "gvnr_rate_envelope"
        primary_key = peewee.CompositeKey("account", "agent_id", "provider", "model")


class IdempotencyKey(BaseModel):
    created_at = _created()
    account = peewee.ForeignKeyField(Account, on_delete="CASCADE")
    key = peewee.CharField()
    stored_at = peewee.BigIntegerField()  # unix ms of the first call
    expires_at = peewee.BigIntegerField()  # unix ms; at or after it the key is a first call again

    class Meta:
        table_name = "gvnr_idempotency_key"
        primary_key = peewee.CompositeKey("account", "key")
        indexes = ((("expires_at",), False),)  # purging expired keys


class LimitWindow(WindowTable):
    """One fixed window of one of the service's own limits: `bucket` names limit and subject
    (e.g. "account:ip:203.0.113.7")."""

    class Meta:
        table_name = "gvnr_limit_window"


MODELS = [Account, SpendEnvelope, Clearance, RateEnvelope, IdempotencyKey, LimitWindow]


# ---------------------------------------------------------------- payments and approvals

class Payment(BaseModel):
    """The credit-once ledger of top-ups. `key` names the payment (a transfer by its tx hash,
    an x402 payment by its EIP-3009 payer and nonce) and the unique (chain_id, tx_hash) index
    stops any transaction from crediting twice, whichever door it comes through. Rows are never
    deleted, and hold the account id as plain text so they outlive the account."""

    created_at = _created()
    key = peewee.CharField(primary_key=True)  # transfer:<chain>:<tx> | x402:<chain>:<payer>:<nonce>
    account_id = peewee.CharField()
    method = peewee.CharField()  # transfer | x402
    chain_id = peewee.IntegerField()
    tx_hash = peewee.CharField(null=True)  # lower-case; an x402 payment's settlement, once settled
    state = peewee.CharField(default="credited")  # pending (x402 payment being settled) | credited
    units = peewee.BigIntegerField()  # USDC base units received (transfer) or paid (x402)
    ops = peewee.BigIntegerField()  # governance operations credited
    claimed_at = peewee.BigIntegerField()  # unix ms the row was written (or a stale claim taken over)
    credited_at = peewee.BigIntegerField(null=True)  # unix ms

    class Meta:
        table_name = "gvnr_payment"
        indexes = ((("chain_id", "tx_hash"), True),)


class Approval(BaseModel):
    """A human approval request; decided once, by a conditional UPDATE on `decision`."""

    created_at = _created()
    id = peewee.CharField(primary_key=True)  # 16 random bytes, base64url: 22 characters
    account = peewee.ForeignKeyField(Account, on_delete="CASCADE")
    agent_id = peewee.CharField()
    action_summary = peewee.TextField()
    channels = peewee.CharField()  # space separated
    requested_at = peewee.BigIntegerField()  # unix ms
    expires_at = peewee.BigIntegerField()  # unix ms; after it a pending request reads as timeout
    decision = peewee.CharField(default="pending")  # pending | approved | denied
    responder = peewee.CharField(null=True)
    decided_at = peewee.BigIntegerField(null=True)  # unix ms
    email_status = peewee.CharField(null=True)  # sent | failed | skipped_no_key | no_address

    class Meta:
        table_name = "gvnr_approval"
        indexes = ((("expires_at",), False),)  # purging requests past their grace period


MODELS += [Payment, Approval]
