"""LoopKit under `pentapi serve` (gunicorn, two uvicorn workers): real instrumented programs
export to it, an agent reads their sessions and diagnoses the seeded failure; the exact
counters (mint race, quota, rate window) and recovery hold across worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from tests.api.loopkit.otel import run_workload, sdk_spans, to_protobuf
from tests.conftest import REPO, Server

pytestmark = pytest.mark.e2e
P = "/loopkit"
HIGH = {"LOOPKIT_PROVISION_RATE_LIMIT": "100000", "LOOPKIT_RECOVER_RATE_LIMIT": "100000"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One two-worker server for the module (each test provisions its own projects)."""
    running = Server(tmp_path_factory.mktemp("loopkit-serve"), workers=2, env=HIGH)
    yield running
    running.stop()


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def provision(http: httpx.Client, name: str) -> dict:
    r = http.post(f"{P}/v1/provision", json={"project_name": name})
    assert r.status_code == 201, r.text
    return r.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def run_program(server: Server, key: str, encoding: str, processor: str, compression: str, prefix: str) -> dict:
    env = {**os.environ,
           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{server.url}{P}/v1/traces",
           "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"Authorization={quote('Bearer ' + key)}",
           "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": compression}
    done = subprocess.run([sys.executable, "-m", "tests.e2e.loopkit.agent_program", "--encoding", encoding,
                           "--processor", processor, "--prefix", prefix],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_real_instrumented_programs_then_sessions_and_diagnosis(server, http):
    project = provision(http, "travel-agent")
    protobuf = run_program(server, project["producer_key"], "protobuf", "batch", "gzip", "pb")
    as_json = run_program(server, project["producer_key"], "json", "simple", "none", "js")
    assert protobuf["failures"] == as_json["failures"] == 0 and protobuf["exports"] > 1
    assert protobuf["spans"] == as_json["spans"] == 50  # 10 turns of 5 spans each
    agent = bearer(project["agent_key"])

    sessions = http.get(f"{P}/v1/sessions", params={"limit": 100}, headers=agent).json()["sessions"]
    assert {s["session_id"] for s in sessions} == set(protobuf["conversations"]) | set(as_json["conversations"])
    for prefix, service in (("pb", "travel-agent-protobuf"), ("js", "travel-agent-json")):
        failed = next(s for s in sessions if s["session_id"] == f"{prefix}-009")
        good = next(s for s in sessions if s["session_id"] == f"{prefix}-000")
        assert (failed["outcome"], failed["errors"], failed["service"]) == ("failed", 4, service)
        assert (good["outcome"], good["turns"], good["agent"]) == ("succeeded", 5, "travel-planner")
    detail = http.get(f"{P}/v1/sessions/pb-009", headers=agent).json()
    assert [r["name"] for r in detail["records"]][0] == "invoke_agent travel-planner"

    packet = http.post(f"{P}/v1/runs/diagnose", json={"since_minutes": 60}, headers=agent).json()["packet"]
    assert packet["status"] == "ready_for_issue_diagnosis" and packet["telemetry_read"] == 100
    assert packet["approval_required"] is True
    issues = {i["signal_type"]: i for i in packet["issues"]}
    tool = issues["tool_call_failed"]
    assert tool["title"] == "tool_call_failed on search_flights (TimeoutError)" and tool["count"] == 24
    assert issues["retry_loop"]["count"] == 8 and issues["token_spike"]["count"] == 4
    slow = {i["title"]: i["count"] for i in packet["issues"] if i["signal_type"] == "latency_outlier"}
    assert slow["latency_outlier on chat claude-sonnet-4-6"] == 4  # the four 300 ms model calls
    for evidence in tool["evidence_ids"]:
        found = http.get(f"{P}/v1/sessions/{evidence}", headers=agent).json()
        assert evidence in {r["record_id"] for r in found["records"]} and found["session"]["outcome"] == "failed"
    report = http.get(f"{P}/v1/reports/latest.md", headers=agent).text
    assert packet["packet_id"] in report and "tool\\_call\\_failed" not in report
    assert http.get(f"{P}/v1/dashboard", headers=agent).json()["latest_packet"]["packet_id"] == packet["packet_id"]


def test_concurrent_mints_of_one_name_give_one_201_and_one_409(server):
    names = [f"race-{i}" for i in range(6)]
    clients = [httpx.Client(base_url=server.url, timeout=30) for _ in range(2)]
    try:
        results: dict[str, list[int]] = {n: [] for n in names}
        for name in names:
            barrier = threading.Barrier(2)

            def mint(client: httpx.Client, name: str = name, barrier: threading.Barrier = barrier) -> int:
                barrier.wait()
                return client.post(f"{P}/v1/provision", json={"project_name": name}).status_code

            with ThreadPoolExecutor(2) as pool:
                results[name] = sorted(pool.map(mint, clients))
    finally:
        for c in clients:
            c.close()
    assert all(codes == [201, 409] for codes in results.values()), results


def test_quota_is_exact_across_workers(server, http):
    project = provision(http, "capped")
    admin = subprocess.run([sys.executable, "-m", "server.cli", "loopkit", "project", "quota", project["project_id"],
                            "100"], cwd=REPO, env={**os.environ, "PENTAPI_DATA_DIR": str(server.log.parent)},
                           capture_output=True, text=True, timeout=60)
    assert admin.returncode == 0, admin.stderr
    batches = [to_protobuf(sdk_spans(lambda tracer, i=i: run_workload(tracer, good=6, failing=0, prefix=f"q{i}")))
               for i in range(8)]  # 8 exports of 30 distinct spans
    headers = {**bearer(project["producer_key"]), "Content-Type": "application/x-protobuf"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: http.post(f"{P}/v1/traces", content=body, headers=headers), batches))
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    rejected = sum(ExportTraceServiceResponse.FromString(a.content).partial_success.rejected_spans for a in answers)
    assert all(a.status_code == 202 for a in answers) and rejected == 8 * 30 - 100
    dashboard = http.get(f"{P}/v1/dashboard", headers=bearer(project["agent_key"])).json()
    assert dashboard["project"]["spans_used"] == 100 and dashboard["stats"]["records"] == 100


def test_recovery_revokes_the_old_keys_on_every_worker(server, http):
    project = provision(http, "recoverable")
    r = http.post(f"{P}/v1/recover", json={"project_id": project["project_id"],
                                           "recovery_code": project["recovery_code"]})
    assert r.status_code == 200
    fresh = r.json()
    with ThreadPoolExecutor(8) as pool:
        old = list(pool.map(lambda _: http.get(f"{P}/v1/telemetry", headers=bearer(project["agent_key"])), range(16)))
        new = list(pool.map(lambda _: http.get(f"{P}/v1/telemetry", headers=bearer(fresh["agent_key"])), range(16)))
    assert {a.status_code for a in old} == {401} and {a.json()["code"] for a in old} == {"key_revoked"}
    assert {a.status_code for a in new} == {200}


def test_the_provision_rate_window_is_exact_across_workers(tmp_path):
    limited = Server(tmp_path / "limited", workers=2, env={"LOOPKIT_PROVISION_RATE_LIMIT": "10"})
    try:
        with httpx.Client(base_url=limited.url, timeout=30) as client, ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(
                lambda i: client.post(f"{P}/v1/provision", json={"project_name": f"n{i}"}), range(30)))
    finally:
        limited.stop()
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 10 and codes.count(429) == 20
    remaining = sorted(int(a.headers["X-RateLimit-Remaining"]) for a in answers if a.status_code == 201)
    assert remaining == list(range(10))
