"""Loup tables: creators and their keys, skill packs and versions, buyers' installs and
install tokens, usage events, rate-limit windows, and the marketplace search index.

Every secret (creator key, install token) is stored only as its SHA-256 digest. Money is
kept in integer micro-dollars so spend counters stay exact under concurrent updates.
"""

from __future__ import annotations

import peewee

from storage.base import BaseModel, utcnow
from storage.db import is_sqlite
from storage.windows import WindowTable

PACK_STATES = ("pending_review", "preparing", "approved")
INSTALL_STATUSES = ("active", "trialing", "canceled")
CHANNELS = ("telegram", "slack", "whatsapp", "google_chat")


class Creator(BaseModel):
    id = peewee.CharField(primary_key=True)  # acc_...
    handle = peewee.CharField(unique=True)  # the <creator> in <creator>/<slug>
    name = peewee.CharField()
    email = peewee.CharField(null=True)
    is_admin = peewee.BooleanField(default=False)  # only admin accounts may hold the admin scope

    class Meta:
        table_name = "loup_creator"


class ApiKey(BaseModel):
    id = peewee.CharField(primary_key=True)  # key_...
    creator = peewee.ForeignKeyField(Creator, backref="keys", on_delete="CASCADE")
    digest = peewee.CharField(unique=True)  # SHA-256 of plat_...
    scopes = peewee.CharField()  # space separated
    label = peewee.CharField(default="")
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "loup_api_key"


# The marketplace index: an FTS5 table whose rowid is the pack's integer `seq`, kept in sync
# by triggers so every writer (handlers, admin commands, raw SQL) updates it; only public
# packs are indexed. `seq` is an INTEGER PRIMARY KEY, so VACUUM never renumbers it.
SEARCH_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS loup_pack_search USING fts5("
    "name, slug, description, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS loup_pack_search_insert AFTER INSERT ON loup_pack "
    "WHEN new.public "
    "BEGIN INSERT INTO loup_pack_search(rowid, name, slug, description) "
    "VALUES (new.seq, new.name, new.slug, coalesce(new.description, '')); END",
    "CREATE TRIGGER IF NOT EXISTS loup_pack_search_update AFTER UPDATE ON loup_pack "
    "BEGIN DELETE FROM loup_pack_search WHERE rowid = old.seq; "
    "INSERT INTO loup_pack_search(rowid, name, slug, description) "
    "SELECT new.seq, new.name, new.slug, coalesce(new.description, '') "
    "WHERE new.public; END",
    "CREATE TRIGGER IF NOT EXISTS loup_pack_search_delete AFTER DELETE ON loup_pack "
    "BEGIN DELETE FROM loup_pack_search WHERE rowid = old.seq; END",
)


class Pack(BaseModel):
    seq = peewee.AutoField()  # integer rowid of the search index
    id = peewee.CharField(unique=True)  # pck_...
    creator = peewee.ForeignKeyField(Creator, backref="packs", on_delete="CASCADE")
    slug = peewee.CharField()
    name = peewee.CharField()
    description = peewee.TextField(null=True)
    pricing_model = peewee.CharField(default="subscription")  # subscription | one_off | free
    public = peewee.BooleanField(default=True)
    hosted_runtime = peewee.BooleanField(default=False)  # the hosted_runtime feature flag

    class Meta:
        table_name = "loup_pack"
        indexes = ((("creator", "slug"), True),)

    @classmethod
    def create_table(cls, safe: bool = True, **options: object) -> None:
        super().create_table(safe=safe, **options)
        if is_sqlite():
            for statement in SEARCH_DDL:
                cls._meta.database.execute_sql(statement)


class PackVersion(BaseModel):
    id = peewee.CharField(primary_key=True)  # ver_...
    pack = peewee.ForeignKeyField(Pack, field=Pack.id, backref="versions", on_delete="CASCADE")
    version = peewee.CharField()
    changelog = peewee.TextField(default="")
    # pending_review: not approved, invisible to buyers; preparing: approved, tarball not
    # ready yet (download answers 409); approved: approved and downloadable.
    state = peewee.CharField(default="preparing")
    sha256 = peewee.CharField(null=True)
    size_bytes = peewee.BigIntegerField(null=True)
    path = peewee.CharField(null=True)  # tarball, relative to the snapshot directory
    approved_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "loup_pack_version"
        indexes = ((("pack", "version"), True),)


class Install(BaseModel):
    id = peewee.CharField(primary_key=True)  # ins_...
    pack = peewee.ForeignKeyField(Pack, field=Pack.id, backref="installs", on_delete="CASCADE")
    buyer_email = peewee.CharField(null=True)
    status = peewee.CharField(default="active")
    channel = peewee.CharField(null=True)
    installed_version = peewee.CharField(null=True)
    current_period_end = peewee.DateTimeField(null=True)
    invocation_count = peewee.IntegerField(default=0)
    spend_cap_micro_usd = peewee.BigIntegerField(null=True)  # None: no cap
    spent_micro_usd = peewee.BigIntegerField(default=0)

    class Meta:
        table_name = "loup_install"
        # keyset pagination walks (created_at, id) newest first, per pack
        indexes = ((("pack", "created_at", "id"), False),)


class InstallToken(BaseModel):
    id = peewee.CharField(primary_key=True)  # itk_...
    install = peewee.ForeignKeyField(Install, backref="tokens", on_delete="CASCADE")
    digest = peewee.CharField(unique=True)  # SHA-256 of loupit_...
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "loup_install_token"


class UsageEvent(BaseModel):
    id = peewee.CharField(primary_key=True)  # evt_...
    install = peewee.ForeignKeyField(Install, backref="events", on_delete="CASCADE")
    pack = peewee.ForeignKeyField(Pack, field=Pack.id, on_delete="CASCADE")  # for filtering
    event_type = peewee.CharField()  # skill.invoked | skill.success | skill.error
    occurred_at = peewee.DateTimeField(default=utcnow)
    payload = peewee.TextField(null=True)  # JSON object
    llm_tokens_used = peewee.IntegerField(null=True)
    llm_cost_usd = peewee.FloatField(null=True)

    class Meta:
        table_name = "loup_usage_event"
        indexes = ((("pack", "occurred_at"), False),)


class RateWindow(WindowTable):
    """One fixed window of one bucket (a key, a token, a client address): a counter."""

    class Meta:
        table_name = "loup_rate_window"


MODELS = [Creator, ApiKey, Pack, PackVersion, Install, InstallToken, UsageEvent, RateWindow]
