"""POST /v1/runs/diagnose, GET /v1/dashboard and GET /v1/reports/latest.md over a seeded
failure pattern produced by the real SDK."""

from __future__ import annotations

import pytest

from storage.loopkit import Packet
from tests.api.loopkit.conftest import P
from tests.api.loopkit.otel import run_workload, sdk_spans, to_protobuf


@pytest.fixture
def seeded(lk, project):
    spans = sdk_spans(lambda tracer: run_workload(tracer, good=6, failing=4))
    r = lk.post(f"{P}/v1/traces", content=to_protobuf(spans),
                headers={**project.producer, "Content-Type": "application/x-protobuf"})
    assert r.status_code == 202
    return spans


def test_diagnose_finds_the_seeded_pattern_with_real_evidence(lk, project, seeded):
    r = lk.post(f"{P}/v1/runs/diagnose", json={}, headers=project.agent)
    assert r.status_code == 200, r.text
    body = r.json()
    packet = body["packet"]
    assert body["ok"] is True and packet["status"] == "ready_for_issue_diagnosis"
    assert packet["project_id"] == project.project_id and packet["tenant_id"] == "sandbox"
    assert packet["since_minutes"] == 60 and packet["telemetry_read"] == len(seeded) and packet["failures"] == 16
    assert packet["approval_required"] is True and "human approves" in packet["approval_reason"]
    by_signal = {i["signal_type"]: i for i in packet["issues"]}
    assert set(by_signal) == {"tool_call_failed", "retry_loop", "span_error", "latency_outlier", "token_spike"}
    tool = by_signal["tool_call_failed"]
    assert tool["title"] == "tool_call_failed on search_flights (TimeoutError)" and tool["severity"] == "high"
    assert tool["count"] == 12 and len(tool["evidence_ids"]) == 10 and len(tool["traces"]) == 4
    assert by_signal["retry_loop"]["count"] == 4
    assert by_signal["span_error"]["title"] == "span_error on invoke_agent travel-planner (ToolFailure)"
    assert by_signal["latency_outlier"]["count"] == 2 and by_signal["token_spike"]["count"] == 2
    assert not by_signal["latency_outlier"]["external_write"] and tool["external_write"]
    # every evidence id resolves to a stored record of this project, in the issue's traces
    for issue in packet["issues"]:
        for evidence in issue["evidence_ids"]:
            detail = lk.get(f"{P}/v1/sessions/{evidence}", headers=project.agent)
            assert detail.status_code == 200, evidence
            assert evidence in {rec["record_id"] for rec in detail.json()["records"]}
            assert evidence.split("_")[1] in issue["traces"]
    failing = {lk.get(f"{P}/v1/sessions/{t}", headers=project.agent).json()["session"]["outcome"]
               for t in tool["traces"]}
    assert failing == {"failed"}
    assert Packet.select().where(Packet.project == project.project_id).count() == 1


def test_too_little_telemetry_asks_to_observe_more(lk, project):
    packet = lk.post(f"{P}/v1/runs/diagnose", headers=project.agent).json()["packet"]
    assert packet["status"] == "observe_more" and packet["issues"] == [] and packet["telemetry_read"] == 0
    assert packet["approval_required"] is False and "approval_reason" not in packet


def test_since_minutes_is_echoed_and_validated(lk, project, seeded):
    body = lk.post(f"{P}/v1/runs/diagnose", json={"since_minutes": 1}, headers=project.agent).json()
    assert body["packet"]["since_minutes"] == 1 and body["packet"]["telemetry_read"] == len(seeded)
    for bad in ({"since_minutes": 0}, {"since_minutes": 43201}, {"since_minutes": "60"}):
        assert lk.post(f"{P}/v1/runs/diagnose", json=bad, headers=project.agent).status_code == 400


def test_dashboard_and_report_show_the_latest_packet(lk, project, seeded):
    before = lk.get(f"{P}/v1/dashboard", headers=project.agent).json()
    assert before["latest_packet"] is None and before["stats"]["records"] == len(seeded)
    assert before["top_signals"][0]["title"] == "tool_call_failed on search_flights (TimeoutError)"
    assert "No diagnosis packet yet" in lk.get(f"{P}/v1/reports/latest.md", headers=project.agent).text
    packet = lk.post(f"{P}/v1/runs/diagnose", json={"since_minutes": 30}, headers=project.agent).json()["packet"]
    dashboard = lk.get(f"{P}/v1/dashboard", headers=project.agent).json()
    assert dashboard["latest_packet"] == packet
    stats = dashboard["stats"]
    assert (stats["errors"], stats["tool_calls"], stats["tool_failures"], stats["sessions"]) == (16, 24, 12, 10)
    assert dashboard["project"]["spans_used"] == len(seeded) and dashboard["project"]["quota_spans"] == 100_000
    assert dashboard["report_url"].endswith("/loopkit/v1/reports/latest.md")
    report = lk.get(f"{P}/v1/reports/latest.md", headers=project.agent)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/markdown")
    text = report.text
    assert text.startswith(f"# LoopKit report: {project.project_id}")
    assert f"## Latest diagnosis: {packet['packet_id']}" in text
    assert "### 1. [high] tool_call_failed on search_flights (TimeoutError)" in text
    assert packet["issues"][0]["evidence_ids"][0] in text
    newer = lk.post(f"{P}/v1/runs/diagnose", headers=project.agent).json()["packet"]
    assert lk.get(f"{P}/v1/dashboard", headers=project.agent).json()["latest_packet"]["packet_id"] == newer["packet_id"]
