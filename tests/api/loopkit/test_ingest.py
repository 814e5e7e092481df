"""POST /v1/traces: SDK-encoded JSON and protobuf, compression, OTLP responses, malformed
exports (400, nothing stored), the quota, retries, and key kinds."""

from __future__ import annotations

import gzip
import zlib

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from handlers.loopkit import records
from storage.loopkit import Project, Record
from tests.api.loopkit.conftest import HIGH_LIMITS, P
from tests.api.loopkit.otel import run_workload, sdk_spans, to_json, to_protobuf

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def spans():
    return sdk_spans(lambda tracer: run_workload(tracer, good=2, failing=1))


def stored() -> dict[str, dict]:
    return {records.record_id(r.trace_id, r.span_id): records.to_public(r) for r in Record.select()}


def test_json_and_protobuf_of_the_same_spans_store_the_same_records(make_client, spans):
    results = []
    for encode in ("json", "protobuf"):
        lk = make_client(**HIGH_LIMITS)
        minted = lk.post(f"{P}/v1/provision", json={"project_name": encode}).json()
        headers = {"Authorization": f"Bearer {minted['producer_key']}"}
        if encode == "json":
            r = lk.post(f"{P}/v1/traces", json=to_json(spans), headers=headers)
            assert r.headers["content-type"].startswith("application/json")
            assert r.json() == {"ok": True, "project_id": minted["project_id"], "accepted_spans": len(spans),
                                "duplicate_spans": 0, "rejected_spans": 0}
        else:
            r = lk.post(f"{P}/v1/traces", content=to_protobuf(spans), headers={**headers, **PROTOBUF})
            assert r.headers["content-type"] == "application/x-protobuf"
            answer = ExportTraceServiceResponse.FromString(r.content)
            assert not answer.HasField("partial_success")
        assert r.status_code == 202
        results.append({k: {**v, "session_id": v["session_id"]} for k, v in stored().items()})
        Record.delete().execute()
    assert results[0] == results[1] and len(results[0]) == len(spans)
    sample = next(v for v in results[0].values() if v["tool_name"] == "search_flights" and v["error"])
    assert sample["error_type"] == "TimeoutError" and sample["status"]["code"] == "error"
    assert sample["exception_message"] == "upstream timeout after 30s" and sample["events"][0]["name"] == "exception"
    assert sample["session_id"] == "conv-002" and sample["service"] == "travel-agent"
    assert sample["environment"] == "production" and sample["scope"] == {"name": "tests.loopkit", "version": "1.0",
                                                                         "attributes": {}}


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_compressed_exports(lk, project, spans, encoding, compress):
    r = lk.post(f"{P}/v1/traces", content=compress(to_protobuf(spans)),
                headers={**project.producer, **PROTOBUF, "Content-Encoding": encoding})
    assert r.status_code == 202 and Record.select().count() == len(spans)
    import json

    r = lk.post(f"{P}/v1/traces", content=compress(json.dumps(to_json(spans)).encode()),
                headers={**project.producer, "Content-Type": "application/json", "Content-Encoding": encoding})
    assert r.status_code == 202 and r.json()["duplicate_spans"] == len(spans)


def test_a_retried_export_is_accepted_once(lk, project, spans):
    first = lk.post(f"{P}/v1/traces", json=to_json(spans), headers=project.producer).json()
    again = lk.post(f"{P}/v1/traces", json=to_json(spans), headers=project.producer).json()
    assert (first["accepted_spans"], again["accepted_spans"], again["duplicate_spans"]) == (len(spans), 0, len(spans))
    assert Record.select().count() == len(spans) and Project.get_by_id(project.project_id).spans_used == len(spans)


def test_empty_exports_succeed(lk, project):
    assert lk.post(f"{P}/v1/traces", json={"resourceSpans": []}, headers=project.producer).status_code == 202
    r = lk.post(f"{P}/v1/traces", content=b"", headers={**project.producer, **PROTOBUF})
    assert r.status_code == 202 and ExportTraceServiceResponse.FromString(r.content) == ExportTraceServiceResponse()


def bad_batch(spans, mutate) -> dict:
    body = to_json(spans)
    mutate(body["resourceSpans"][0]["scopeSpans"][0]["spans"])
    return body


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda s: s[-1].update(traceId="W4/+95gDgQPSabYzgT/GDA=="), "ids are hex"),
    (lambda s: s[3].update(spanId="00" * 8), "all-zero id"),
    (lambda s: s[0].update(startTimeUnixNano="soon"), "startTimeUnixNano: expected an integer"),
    (lambda s: s[0].update(startTimeUnixNano="9" * 5000), "startTimeUnixNano: 5000 digits is out of range"),
    (lambda s: s[0].update(startTimeUnixNano="\u0663"), "startTimeUnixNano: expected an integer"),
    (lambda s: s[2]["attributes"].append({"key": "x", "value": {"intValue": "1e3"}}), "intValue"),
    (lambda s: s.append("not a span"), "expected an object"),
])
def test_a_malformed_export_stores_nothing(lk, project, spans, mutate, needle):
    r = lk.post(f"{P}/v1/traces", json=bad_batch(spans, mutate), headers=project.producer)
    assert r.status_code == 400 and r.json()["code"] == "invalid_otlp" and needle in r.json()["error"]
    assert "resourceSpans[0].scopeSpans[0].spans[" in r.json()["error"]
    assert Record.select().count() == 0 and Project.get_by_id(project.project_id).spans_used == 0


def test_malformed_bodies_at_the_edge(lk, project):
    def post(content: bytes, ctype: str):
        return lk.post(f"{P}/v1/traces", content=content, headers={**project.producer, "Content-Type": ctype})

    assert post(b"{not json", "application/json").json()["code"] == "invalid_json"
    assert post(b'{"resourceSpans": 3}', "application/json").json()["code"] == "invalid_request"
    assert post(b"{}", "application/json").status_code == 400  # resourceSpans is required by the spec
    r = post(b"\x0a\x05garbage", "application/x-protobuf")
    assert r.status_code == 400 and r.json()["code"] == "invalid_otlp"
    assert post(b"resourceSpans", "text/plain").status_code == 400
    assert Record.select().count() == 0


def test_quota_is_enforced_with_partial_success(make_client, spans):
    lk = make_client(**HIGH_LIMITS, loopkit_quota_spans=len(spans) + 4)
    minted = lk.post(f"{P}/v1/provision", json={"project_name": "capped"}).json()
    headers = {"Authorization": f"Bearer {minted['producer_key']}"}
    assert lk.post(f"{P}/v1/traces", json=to_json(spans), headers=headers).json()["accepted_spans"] == len(spans)
    more = sdk_spans(lambda tracer: run_workload(tracer, good=2, failing=0, prefix="more"))
    r = lk.post(f"{P}/v1/traces", json=to_json(more), headers=headers)
    assert r.status_code == 202
    body = r.json()
    assert body["accepted_spans"] == 4 and body["rejected_spans"] == len(more) - 4
    assert body["partialSuccess"]["rejectedSpans"] == str(len(more) - 4)
    assert "quota_spans" in body["partialSuccess"]["errorMessage"]
    r = lk.post(f"{P}/v1/traces", content=to_protobuf(more), headers={**headers, **PROTOBUF})
    answer = ExportTraceServiceResponse.FromString(r.content)
    assert answer.partial_success.rejected_spans == len(more) - 4  # the four stored ones are duplicates now
    assert Record.select().count() == len(spans) + 4
    project = Project.get_by_id(minted["project_id"])
    assert project.spans_used == project.quota_spans == len(spans) + 4


def test_only_producer_keys_ingest(lk, project):
    r = lk.post(f"{P}/v1/traces", json={"resourceSpans": []}, headers=project.agent)
    assert r.status_code == 401 and r.json()["code"] == "wrong_key_kind"
    assert lk.post(f"{P}/v1/traces", json={"resourceSpans": []}).status_code == 401
    r = lk.post(f"{P}/v1/traces", json={"resourceSpans": []}, headers={"Authorization": "Bearer lk_ingest_nope"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_key"
    for path in ("/v1/telemetry", "/v1/sessions", "/v1/dashboard", "/v1/reports/latest.md"):
        r = lk.get(f"{P}{path}", headers=project.producer)
        assert r.status_code == 401 and r.json()["code"] == "wrong_key_kind", path
    assert lk.post(f"{P}/v1/runs/diagnose", json={}, headers=project.producer).status_code == 401


def test_token_counts_that_are_not_ascii_decimal_integers_are_left_empty(lk, project):
    """Token counts may come as numeric strings; anything else ("²" is str.isdigit() but not a
    number int() reads, a 5000-digit string is past int()'s limit) leaves the column empty."""
    counts = ["\u00b2", "\u0663", "9" * 5000, "12" * 10, "-3", " 42 ", "1e3"]
    spans = [{"traceId": "ab" * 16, "spanId": f"{i + 1:016x}", "name": "chat", "startTimeUnixNano": "1",
              "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"stringValue": count}}]}
             for i, count in enumerate(counts)]
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    r = lk.post(f"{P}/v1/traces", json=body, headers=project.producer)
    assert r.status_code == 202 and r.json()["accepted_spans"] == len(counts), r.text
    stored_counts = {int(r.span_id, 16) - 1: r.input_tokens for r in Record.select()}
    assert stored_counts == {0: None, 1: None, 2: None, 3: None, 4: None, 5: 42, 6: None}
