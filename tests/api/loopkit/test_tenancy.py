"""One project never sees another's records, sessions or packets."""

from __future__ import annotations

from tests.api.loopkit.conftest import P
from tests.api.loopkit.otel import run_workload, sdk_spans, to_json


def test_projects_are_isolated(lk, provision):
    alice, bob = provision("alice-agent"), provision("bob-agent")
    spans = sdk_spans(lambda tracer: run_workload(tracer, good=2, failing=2, prefix="alice"))
    assert lk.post(f"{P}/v1/traces", json=to_json(spans), headers=alice.producer).status_code == 202
    # the very same spans sent by bob land in bob's project only, as separate records
    bob_spans = sdk_spans(lambda tracer: run_workload(tracer, good=1, failing=0, prefix="bob"))
    assert lk.post(f"{P}/v1/traces", json=to_json(bob_spans), headers=bob.producer).status_code == 202
    same = lk.post(f"{P}/v1/traces", json=to_json(spans[:3]), headers=bob.producer).json()
    assert same["accepted_spans"] == 3 and same["duplicate_spans"] == 0

    alice_packet = lk.post(f"{P}/v1/runs/diagnose", headers=alice.agent).json()["packet"]
    assert alice_packet["status"] == "ready_for_issue_diagnosis"
    bob_records = lk.get(f"{P}/v1/telemetry", headers=bob.agent).json()["records"]
    assert len(bob_records) == len(bob_spans) + 3
    bob_sessions = {s["session_id"] for s in lk.get(f"{P}/v1/sessions", headers=bob.agent).json()["sessions"]}
    assert not any(s.startswith("alice") for s in bob_sessions)
    for ident in ["alice-003", alice_packet["issues"][0]["evidence_ids"][0], alice_packet["issues"][0]["traces"][0]]:
        assert lk.get(f"{P}/v1/sessions/{ident}", headers=bob.agent).status_code == 404
        assert lk.get(f"{P}/v1/sessions/{ident}", headers=alice.agent).status_code == 200
    bob_dashboard = lk.get(f"{P}/v1/dashboard", headers=bob.agent).json()
    assert bob_dashboard["latest_packet"] is None and bob_dashboard["project"]["project_id"] == bob.project_id
    assert bob_dashboard["stats"]["errors"] == 0
    assert alice_packet["packet_id"] not in lk.get(f"{P}/v1/reports/latest.md", headers=bob.agent).text
    bob_packet = lk.post(f"{P}/v1/runs/diagnose", headers=bob.agent).json()["packet"]
    assert bob_packet["project_id"] == bob.project_id and bob_packet["issues"] == []
    assert lk.get(f"{P}/v1/dashboard", headers=alice.agent).json()["latest_packet"]["packet_id"] == \
        alice_packet["packet_id"]
    # keys name their project: bob's keys cannot resume or upgrade alice's project
    assert lk.post(f"{P}/v1/provision", json={"project_name": "alice-agent"}, headers=bob.agent).status_code == 403
