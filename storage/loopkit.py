"""LoopKit tables: projects and their keys, telemetry records (one per ingested span),
persisted diagnosis packets, and the rate-limit windows of the public routes.

Keys are stored only as SHA-256 digests. A record's identity is (project, trace_id, span_id):
an exporter that retries a batch never stores a span twice. Times of records are integer
unix milliseconds so window scans compare integers on an index.
"""

from __future__ import annotations

import peewee

from storage.base import BaseModel
from storage.db import database
from storage.windows import WindowTable

KEY_KINDS = ("producer", "agent")


class Project(BaseModel):
    id = peewee.CharField(primary_key=True)  # <slug>-<8 hex>, e.g. my-app-1a2b3c4d
    name = peewee.TextField()  # the provision idempotency key
    operator = peewee.TextField(default="")  # namespace; "" when none was given
    tenant_id = peewee.CharField(default="sandbox")
    quota_spans = peewee.BigIntegerField(null=True)  # None: unlimited
    spans_used = peewee.BigIntegerField(default=0)
    # spans the last ingest was granted, written by the same UPDATE that moves spans_used, so
    # one statement both enforces the quota and tells the caller how much it got
    last_grant = peewee.BigIntegerField(default=0)
    graduated_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "loopkit_project"
        indexes = ((("operator", "name"), True),)  # the race guard of concurrent mints


class Key(BaseModel):
    id = peewee.CharField(primary_key=True)  # key_...
    project = peewee.ForeignKeyField(Project, backref="keys", on_delete="CASCADE")
    kind = peewee.CharField()  # producer | agent
    digest = peewee.CharField(unique=True)  # SHA-256 of lk_ingest_... / lk_agent_...
    plan = peewee.CharField(null=True)  # "sandbox" until graduated or upgraded
    expires_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "loopkit_key"


class _Table(peewee.Model):
    """Records skip BaseModel's indexed created_at: received_ms says when, without an index."""

    class Meta:
        database = database
        legacy_table_names = False


class Record(_Table):
    seq = peewee.AutoField()
    project = peewee.CharField()
    trace_id = peewee.CharField()  # 32 lowercase hex
    span_id = peewee.CharField()  # 16 lowercase hex
    parent_span_id = peewee.CharField(default="")
    name = peewee.TextField(default="")
    kind = peewee.IntegerField(default=0)  # OTLP SpanKind (an open enum: any int32)
    start_ms = peewee.BigIntegerField()  # span start (receipt time when the span has none)
    end_ms = peewee.BigIntegerField()
    start_ns = peewee.BigIntegerField()  # the exact start, for ordering within a millisecond
    end_ns = peewee.BigIntegerField()
    duration_ms = peewee.FloatField(default=0.0)
    status_code = peewee.IntegerField(default=0)  # 0 unset, 1 ok, 2 error
    status_message = peewee.TextField(null=True)
    is_error = peewee.BooleanField(default=False)
    error_type = peewee.TextField(null=True)  # error.type, else the exception type
    exception_message = peewee.TextField(null=True)
    service = peewee.TextField(null=True)  # resource service.name
    environment = peewee.TextField(null=True)  # deployment.environment(.name)
    session_id = peewee.TextField(null=True)  # session.id / gen_ai.conversation.id / ...
    session_key = peewee.TextField()  # session_id, else trace_id: what sessions group by
    agent = peewee.TextField(null=True)  # gen_ai.agent.name
    operation = peewee.TextField(null=True)  # gen_ai.operation.name (or mapped span kind)
    unit = peewee.CharField(null=True)  # llm_call | tool_call | agent | retrieval | ...
    model = peewee.TextField(null=True)  # response model, else request model
    input_tokens = peewee.BigIntegerField(null=True)
    output_tokens = peewee.BigIntegerField(null=True)
    tool_name = peewee.TextField(null=True)
    received_ms = peewee.BigIntegerField()
    raw = peewee.TextField()  # JSON: attributes, resource, scope, events, links, status, ...

    class Meta:
        table_name = "loopkit_record"
        indexes = (
            (("project", "trace_id", "span_id"), True),  # identity; also finds a trace's spans
            (("project", "start_ms"), False),  # every bounded window
            (("project", "session_key", "start_ms"), False),  # one session, in time order
        )

    @classmethod
    def create_table(cls, safe: bool = True, **options: object) -> None:
        super().create_table(safe=safe, **options)
        # Records with an error type (failed, or an exception recorded) are few: diagnosis reads
        # them through their own small index.
        cls._meta.database.execute_sql(
            "CREATE INDEX IF NOT EXISTS loopkit_record_errors "
            "ON loopkit_record (project, start_ms) WHERE error_type IS NOT NULL"
        )


class Packet(BaseModel):
    id = peewee.CharField(primary_key=True)  # pkt_...
    project = peewee.CharField()
    status = peewee.CharField()
    body = peewee.TextField()  # the DiagnosisPacket as JSON

    class Meta:
        table_name = "loopkit_packet"
        indexes = ((("project", "created_at"), False),)


class RateWindow(WindowTable):
    """One fixed window of one bucket (provision or recover, per client address)."""

    class Meta:
        table_name = "loopkit_rate_window"


MODELS = [Project, Key, Record, Packet, RateWindow]
