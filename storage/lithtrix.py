"""Lithtrix tables: agents (one `ltx_` key each, stored as its SHA-256), the usage log (one row
per counted search), per-minute rate windows, the SQLite search cache, and the Stripe events
already handled (their ids are the idempotency keys of the webhook).

The lifetime quota counter is `agents.calls_total`, moved only by single conditional UPDATEs
(handlers/lithtrix/quota.py). The local full-text search index is not here: it is its own
SQLite file (handlers/lithtrix/local_index.py), independent of DATABASE_URL.
"""

from __future__ import annotations

import peewee

from storage.base import BaseModel
from storage.windows import WindowTable

TIERS = ("free", "pro")
STATUSES = ("active", "suspended")


class Agent(BaseModel):
    id = peewee.CharField(primary_key=True)  # UUID
    agent_name = peewee.CharField(max_length=100)
    owner_identifier = peewee.CharField(max_length=255)
    key_hash = peewee.CharField(unique=True)  # SHA-256 of the current ltx_ key
    tier = peewee.CharField(default="free")
    status = peewee.CharField(default="active")
    # The free tier's lifetime cap, fixed at registration (upstream column: monthly_limit).
    call_limit = peewee.IntegerField()
    calls_total = peewee.IntegerField(default=0)  # counted searches since registration
    flagged = peewee.BooleanField(default=False)  # abuse flag: kept hammering after 429s
    stripe_customer_id = peewee.CharField(null=True, index=True)
    stripe_subscription_id = peewee.CharField(null=True)
    # `created` of the newest Stripe event that set the tier: older events arriving late
    # (Stripe does not guarantee order) never undo a newer change.
    tier_changed_at = peewee.BigIntegerField(null=True)
    key_rotated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "lithtrix_agent"
        indexes = ((("agent_name", "owner_identifier"), True),)


class UsageLog(BaseModel):
    """One counted search (cache hits included; refused and failed searches are not rows)."""

    id = peewee.AutoField()
    agent = peewee.ForeignKeyField(Agent, backref="usage", on_delete="CASCADE", index=False)
    day = peewee.DateField()  # UTC date, the unit of every breakdown
    query = peewee.CharField(max_length=500)
    num_results = peewee.IntegerField()
    cached = peewee.BooleanField(default=False)

    class Meta:
        table_name = "lithtrix_usage_log"
        indexes = ((("agent", "day"), False), (("day",), False))


class RateWindow(WindowTable):
    """One fixed per-minute search window of one agent (the bucket is the agent's id)."""

    class Meta:
        # A new name: the table before the shared WindowTable keyed windows by agent_id, and
        # migrations are additive only (an old data dir keeps that table, unused).
        table_name = "lithtrix_search_window"


class CacheEntry(BaseModel):
    """The SQLite cache backend: one search answer per key, dead after `expires_at`."""

    key = peewee.CharField(primary_key=True)
    value = peewee.TextField()  # JSON
    expires_at = peewee.DoubleField(index=True)  # unix seconds

    class Meta:
        table_name = "lithtrix_cache"


class StripeEvent(BaseModel):
    """A webhook event already handled: the primary key makes a redelivery a no-op."""

    id = peewee.CharField(primary_key=True)  # evt_...
    type = peewee.CharField()
    agent_id = peewee.CharField(null=True)
    applied = peewee.BooleanField(default=False)  # whether it changed a tier

    class Meta:
        table_name = "lithtrix_stripe_event"


MODELS = [Agent, UsageLog, RateWindow, CacheEntry, StripeEvent]
