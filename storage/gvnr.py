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


class LimitWindow(BaseModel):
    """One fixed window of one of the service's own limits: `bucket` names limit and subject
    (e.g. "account:ip:203.0.113.7"); times are unix seconds. Limits have different window
    lengths, so each row carries its own end."""

    created_at = _created()
    bucket = peewee.CharField()
    window_start = peewee.BigIntegerField()
    ends_at = peewee.BigIntegerField()
    count = peewee.IntegerField(default=0)

    class Meta:
        table_name = "gvnr_limit_window"
        primary_key = peewee.CompositeKey("bucket", "window_start")
        indexes = ((("ends_at",), False),)  # pruning ended windows


MODELS = [Account, SpendEnvelope, Clearance, RateEnvelope, IdempotencyKey, LimitWindow]
