"""GET /v1/telemetry, /v1/sessions and /v1/sessions/{id}: windows, grouping, lookups."""

from __future__ import annotations

import time

import pytest

from tests.api.loopkit.conftest import HIGH_LIMITS, P
from tests.api.loopkit.otel import run_workload, sdk_spans, to_json


def span_json(trace: str, span: str, *, minutes_ago: float, parent: str = "", attrs: dict | None = None,
              status: int = 0, name: str = "op") -> dict:
    start = int((time.time() - minutes_ago * 60) * 1e9)
    return {"traceId": trace, "spanId": span, "parentSpanId": parent, "name": name, "kind": 1,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 50_000_000),
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in (attrs or {}).items()],
            "status": {"code": status}}


def export(spans: list[dict], environment: str = "production") -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}},
        {"key": "deployment.environment", "value": {"stringValue": environment}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": spans}]}]}


@pytest.fixture
def seeded(lk, project):
    spans = sdk_spans(lambda tracer: run_workload(tracer, good=3, failing=2))
    assert lk.post(f"{P}/v1/traces", json=to_json(spans), headers=project.producer).status_code == 202
    return spans


def test_telemetry_is_the_recent_window_newest_first(lk, project, seeded):
    old = export([span_json("a" * 32, "b" * 16, minutes_ago=120)])
    assert lk.post(f"{P}/v1/traces", json=old, headers=project.producer).status_code == 202
    r = lk.get(f"{P}/v1/telemetry", headers=project.agent)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(seeded) and not body["truncated"] and body["window"]["since_minutes"] == 60
    starts = [rec["start_time"] for rec in body["records"]]
    assert starts == sorted(starts, reverse=True)
    assert all(rec["record_id"] == f"rec_{rec['trace_id']}_{rec['span_id']}" for rec in body["records"])


def test_telemetry_is_bounded(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_read_max_records=5)
    minted = lk.post(f"{P}/v1/provision", json={"project_name": "b"}).json()
    spans = sdk_spans(lambda tracer: run_workload(tracer, good=2, failing=0))
    lk.post(f"{P}/v1/traces", json=to_json(spans), headers={"Authorization": f"Bearer {minted['producer_key']}"})
    body = lk.get(f"{P}/v1/telemetry", headers={"Authorization": f"Bearer {minted['agent_key']}"}).json()
    assert body["count"] == 5 and body["truncated"] is True


def test_sessions_group_by_conversation_with_agent_outcome_turns_timing(lk, project, seeded):
    r = lk.get(f"{P}/v1/sessions", headers=project.agent)
    assert r.status_code == 200
    sessions = r.json()["sessions"]
    assert {s["session_id"] for s in sessions} == {f"conv-{i:03d}" for i in range(5)}
    ended = [s["ended_at"] for s in sessions]
    assert ended == sorted(ended, reverse=True)  # most recently active first
    by_id = {s["session_id"]: s for s in sessions}
    good, bad = by_id["conv-000"], by_id["conv-004"]
    assert good["grouped_by"] == "session_id" and good["agent"] == "travel-planner"
    assert (good["outcome"], good["turns"], good["traces"], good["errors"]) == ("succeeded", 5, 1, 0)
    assert (good["tool_calls"], good["llm_calls"], good["input_tokens"]) == (2, 2, 2700)
    assert good["end_reason"] is None and good["duration_ms"] >= 0 and good["started_at"] <= good["ended_at"]
    assert (bad["outcome"], bad["errors"], bad["tool_calls"]) == ("failed", 4, 3)
    assert bad["end_reason"] == "ToolFailure: search_flights failed 3 times"


def test_session_limit_is_after_grouping_and_environment_filters(lk, project, seeded):
    everything = lk.get(f"{P}/v1/sessions", headers=project.agent).json()["sessions"]
    r = lk.get(f"{P}/v1/sessions", params={"limit": 2}, headers=project.agent).json()
    assert r["count"] == 2 and r["sessions"] == everything[:2] and len(everything) == 5
    staging = export([span_json("c" * 32, "d" * 16, minutes_ago=1)], environment="staging")
    lk.post(f"{P}/v1/traces", json=staging, headers=project.producer)
    only = lk.get(f"{P}/v1/sessions", params={"environment": "staging"}, headers=project.agent).json()
    assert [s["session_id"] for s in only["sessions"]] == ["c" * 32]
    assert only["sessions"][0]["grouped_by"] == "trace_id" and only["sessions"][0]["agent"] == "svc"
    none = lk.get(f"{P}/v1/sessions", params={"environment": "nowhere"}, headers=project.agent).json()
    assert none["sessions"] == []


def test_session_without_ids_groups_by_trace_and_recovered_outcome(lk, project):
    trace = "e" * 32
    body = export([
        span_json(trace, "1" * 16, minutes_ago=2, name="root"),
        span_json(trace, "2" * 16, minutes_ago=2, parent="1" * 16, status=2, name="flaky"),
    ])
    lk.post(f"{P}/v1/traces", json=body, headers=project.producer)
    (session,) = lk.get(f"{P}/v1/sessions", headers=project.agent).json()["sessions"]
    assert session["session_id"] == trace and session["outcome"] == "recovered" and session["errors"] == 1


def test_session_detail_by_session_trace_or_record_id(lk, project, seeded):
    sessions = {s["session_id"]: s for s in lk.get(f"{P}/v1/sessions", headers=project.agent).json()["sessions"]}
    detail = lk.get(f"{P}/v1/sessions/conv-004", headers=project.agent)
    assert detail.status_code == 200
    body = detail.json()
    assert body["matched"] == "session_id" and body["session"] == sessions["conv-004"]
    assert len(body["records"]) == 5 and not body["truncated"]
    starts = [(r["start_time"], r["record_id"]) for r in body["records"]]
    assert [s for s, _ in starts] == sorted(s for s, _ in starts)
    trace_id = body["records"][0]["trace_id"]
    by_trace = lk.get(f"{P}/v1/sessions/{trace_id.upper()}", headers=project.agent).json()
    assert by_trace["matched"] == "trace_id" and by_trace["session"]["session_id"] == "conv-004"
    record = body["records"][2]["record_id"]
    by_record = lk.get(f"{P}/v1/sessions/{record}", headers=project.agent).json()
    assert by_record["matched"] == "record_id" and by_record["records"] == body["records"]


def test_session_outside_the_window_is_404(lk, project):
    old = export([span_json("f" * 32, "a" * 16, minutes_ago=90, attrs={"session.id": "yesterday"})])
    lk.post(f"{P}/v1/traces", json=old, headers=project.producer)
    r = lk.get(f"{P}/v1/sessions/yesterday", params={"since_minutes": 60}, headers=project.agent)
    assert r.status_code == 404 and r.json()["code"] == "session_not_found"
    assert lk.get(f"{P}/v1/sessions/yesterday", params={"since_minutes": 120}, headers=project.agent).status_code == 200
    assert lk.get(f"{P}/v1/sessions/yesterday", headers=project.agent).status_code == 200  # default: a day
    assert lk.get(f"{P}/v1/sessions/nothing-like-it", headers=project.agent).status_code == 404
    listed = lk.get(f"{P}/v1/sessions", params={"since_minutes": 60}, headers=project.agent).json()
    assert listed["sessions"] == []


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"since_minutes": 0}, {"since_minutes": 43201},
                                    {"limit": "x"}])
def test_bad_parameters(lk, project, params):
    r = lk.get(f"{P}/v1/sessions", params=params, headers=project.agent)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


def test_future_dated_spans_are_in_no_window_and_do_not_crowd_out_real_ones(make_client):
    """A producer with a bad clock (or a year-2500 timestamp) must not fill the newest-first cap:
    a window ends at the request time plus the clock-skew allowance (window.CLOCK_SKEW_MS)."""
    from handlers.loopkit.window import CLOCK_SKEW_MS

    spans = sdk_spans(lambda tracer: run_workload(tracer, good=3, failing=2))
    lk = make_client(**HIGH_LIMITS, loopkit_window_max_records=len(spans) + 1)

    def project(name: str) -> tuple[dict, dict]:
        minted = lk.post(f"{P}/v1/provision", json={"project_name": name}).json()
        producer, agent = ({"Authorization": f"Bearer {minted[k]}"} for k in ("producer_key", "agent_key"))
        assert lk.post(f"{P}/v1/traces", json=to_json(spans), headers=producer).status_code == 202
        return producer, agent

    def findings(packet: dict) -> list[tuple]:
        return sorted((i["signal_type"], i["title"], i["count"]) for i in packet["issues"])

    _, baseline_agent = project("on-time")
    baseline = lk.post(f"{P}/v1/runs/diagnose", json={}, headers=baseline_agent).json()["packet"]
    assert baseline["telemetry_read"] == len(spans) and baseline["issues"]
    producer, agent = project("skewed")
    skew_minutes = CLOCK_SKEW_MS / 60_000
    future = [span_json(f"{i + 1:032x}", f"{i + 1:016x}", minutes_ago=-minutes, attrs={"session.id": f"future-{i}"})
              for i, minutes in enumerate([skew_minutes + 1, 60 * 24 * 365, 60 * 24 * 365 * 475] * 3)]
    ahead = span_json("e" * 32, "e" * 16, minutes_ago=-skew_minutes / 2, attrs={"session.id": "slightly-ahead"})
    body = export([*future, ahead])
    assert lk.post(f"{P}/v1/traces", json=body, headers=producer).json()["accepted_spans"] == len(future) + 1

    packet = lk.post(f"{P}/v1/runs/diagnose", json={}, headers=agent).json()["packet"]
    assert packet["telemetry_read"] == len(spans) + 1  # the real spans and the one slightly ahead
    assert findings(packet) == findings(baseline) and packet["failures"] == baseline["failures"]
    window = lk.get(f"{P}/v1/telemetry", headers=agent).json()
    assert window["count"] == len(spans) + 1 and window["window"]["capped"] is False
    assert not any(r["trace_id"] in {s["traceId"] for s in future} for r in window["records"])
    sessions = {s["session_id"] for s in lk.get(f"{P}/v1/sessions", headers=agent).json()["sessions"]}
    assert "slightly-ahead" in sessions and not any(s.startswith("future-") for s in sessions)
    assert lk.get(f"{P}/v1/sessions/future-1", headers=agent).status_code == 404
