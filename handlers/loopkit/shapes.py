"""Response bodies the spec leaves without a schema, typed here so a shape mistake is a type
error (the documented ones come from generated/loopkit/models.py). docs/loopkit.md shows them.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from pydantic import BaseModel

from generated.loopkit import models as M


def dump(model: BaseModel) -> dict[str, t.Any]:
    """JSON-ready dict; None stays as null (e.g. expires_at of a permanent key)."""
    return model.model_dump(mode="json")


# ------------------------------------------------------------------ projects and keys


class ProjectLinks(BaseModel):
    ingest_url: str
    diagnose_url: str
    dashboard_url: str


class ProvisionResult(ProjectLinks):
    """The signup shape plus `resumed` and `graduated`; a resume carries no key."""

    ok: bool = True
    resumed: bool
    graduated: bool
    project_id: str
    project_name: str
    operator: str | None
    tenant_id: str
    plan: str | None
    quota_spans: int | None
    spans_used: int
    expires_at: dt.datetime | None
    recovery_code: str | None


class MintResult(ProvisionResult):
    producer_key: str
    agent_key: str


class RecoverResult(ProjectLinks):
    ok: bool = True
    project_id: str
    producer_key: str
    agent_key: str
    revoked_keys: int


class KeySummary(BaseModel):
    key_id: str
    kind: str
    prefix: str
    scopes: list[str]
    plan: str | None
    expires_at: dt.datetime | None
    created_at: dt.datetime


class UpgradeResult(BaseModel):
    ok: bool = True
    upgraded: bool
    project_id: str
    tenant_id: str
    plan: str | None
    expires_at: dt.datetime | None
    quota_spans: int | None
    spans_used: int
    keys: list[KeySummary]


# ------------------------------------------------------------------ records and sessions


class RecordStatus(BaseModel):
    code: str  # unset | ok | error
    message: str | None


class TelemetryRecord(BaseModel):
    record_id: str  # the evidence id diagnosis packets point at
    trace_id: str
    span_id: str
    parent_span_id: str | None
    session_id: str | None
    name: str
    kind: str
    start_time: dt.datetime
    end_time: dt.datetime
    duration_ms: float
    status: RecordStatus
    error: bool
    error_type: str | None
    exception_message: str | None
    unit: str | None
    operation: str | None
    agent: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    tool_name: str | None
    service: str | None
    environment: str | None
    attributes: dict[str, t.Any]
    resource: dict[str, t.Any]
    scope: dict[str, t.Any]
    events: list[dict[str, t.Any]]
    links: list[dict[str, t.Any]]


class Window(BaseModel):
    since_minutes: int
    start: dt.datetime
    end: dt.datetime
    max_records: int
    capped: bool  # more records than max_records fell in the window; the newest were read


class TelemetryPage(BaseModel):
    ok: bool = True
    project_id: str
    window: Window
    count: int
    truncated: bool
    records: list[TelemetryRecord]


class SessionSummary(BaseModel):
    session_id: str  # the session or conversation id, else the trace id
    grouped_by: str  # session_id | trace_id
    agent: str | None
    agents: list[str]
    service: str | None
    environment: str | None
    outcome: str  # succeeded | recovered | failed
    end_reason: str | None
    turns: int  # records in the session (the spec calls them turns)
    traces: int
    errors: int
    tool_calls: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_ms: float


class SessionList(BaseModel):
    ok: bool = True
    project_id: str
    window: Window
    environment: str | None
    count: int
    sessions: list[SessionSummary]


class SessionDetail(BaseModel):
    ok: bool = True
    project_id: str
    matched: str  # session_id | trace_id | record_id
    session: SessionSummary
    truncated: bool
    records: list[TelemetryRecord]


# ------------------------------------------------------------------ diagnosis


class Issue(M.Issue):
    """The spec's issue plus what the packet's reader needs to act on it."""

    issue_id: str
    eval_candidate: str
    external_write: bool  # the next action writes outside LoopKit: a human must approve it
    impact: str


class Check(BaseModel):
    """One rule that inspected the window, found or not: a clean run still reads as inspected."""

    signal_type: str
    inspected: int
    found: int


class DiagnosisPacket(M.DiagnosisPacket):
    issues: list[Issue]  # type: ignore[assignment]
    window: Window
    checks: list[Check]
    summary: str


class DiagnosisResponse(M.DiagnosisResponse):
    packet: DiagnosisPacket


# ------------------------------------------------------------------ dashboard


class ProjectStanding(BaseModel):
    project_id: str
    project_name: str
    tenant_id: str
    plan: str | None
    expires_at: dt.datetime | None
    quota_spans: int | None
    spans_used: int
    spans_remaining: int | None


class WindowStats(BaseModel):
    records: int
    traces: int
    sessions: int
    errors: int
    error_rate: float
    tool_calls: int
    tool_failures: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    avg_duration_ms: float | None
    max_duration_ms: float | None


class Signal(BaseModel):
    signal_type: str
    title: str
    severity: str
    count: int


class Dashboard(BaseModel):
    ok: bool = True
    project: ProjectStanding
    window: Window
    stats: WindowStats
    top_signals: list[Signal]
    latest_packet: DiagnosisPacket | None
    report_url: str
    diagnose_url: str
