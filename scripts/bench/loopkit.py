"""LoopKit benchmark: OTLP ingest throughput and diagnosis latency. `python -m scripts.bench.loopkit`.

Ingest: `pentapi serve` (2 workers); a few client threads post distinct exports of 512 spans
each (GenAI attributes, one conversation per trace, some failing tool calls), first as
OTLP/JSON, then as protobuf, for a fixed number of batches. Every span is new, so each request
parses, dedupes, charges the quota and inserts 512 rows. Throughput = spans stored / wall time.

Diagnosis: 1,000,000 records are bulk-loaded straight into the SQLite file before the server
starts (spread evenly over the last 7 days, in arrival order as ingest appends them, ~5%
failing), then POST /v1/runs/diagnose is timed over HTTP for windows of 60 minutes (the
default), 1 day and 30 days; the last two hit the LOOPKIT_WINDOW_MAX_RECORDS cap (100,000
newest records). A second server with the cap raised to 1,000,000 times a diagnosis over
every record.

Results go to docs/bench/loopkit.json. Client and server share the machine's 2 cores.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from scripts.bench.harness import RESULTS, pentapi_server

P = "/loopkit"
ENV = {"LOOPKIT_PROVISION_RATE_LIMIT": "100000", "LOOPKIT_QUOTA_SPANS": "100000000",
       "PENTAPI_MAX_BODY_BYTES": str(32 * 1024 * 1024)}
SPANS_PER_BATCH = 512
TOOLS = ("search_flights", "book_hotel", "get_weather", "lookup_order", "send_email")


# --------------------------------------------------------------------------- OTLP batches


def _attr(key: str, value: object) -> KeyValue:
    kv = KeyValue(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = str(value)
    return kv


def batch(rng: random.Random, number: int) -> ExportTraceServiceRequest:
    """512 spans: traces of one invoke_agent root, two chat calls and tool calls."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_attr("service.name", "bench-agent"),
                                   _attr("deployment.environment.name", "production")])
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "bench", "1.0"
    now = time.time_ns()
    trace_no = 0
    while len(ss.spans) < SPANS_PER_BATCH:
        trace_no += 1
        trace_id = rng.randbytes(16)
        root_id = rng.randbytes(8)
        start = now - rng.randrange(0, 30 * 60 * 10**9)
        size = min(8, SPANS_PER_BATCH - len(ss.spans))
        for i in range(size):
            span = ss.spans.add()
            span.trace_id, span.span_id = trace_id, root_id if i == 0 else rng.randbytes(8)
            span.start_time_unix_nano = start + i * 1_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + rng.randrange(5, 900) * 1_000_000
            if i == 0:
                span.name, span.kind = "invoke_agent planner", Span.SPAN_KIND_INTERNAL
                span.attributes.extend([_attr("gen_ai.operation.name", "invoke_agent"),
                                        _attr("gen_ai.agent.name", "planner"),
                                        _attr("gen_ai.conversation.id", f"b{number}-{trace_no}")])
                continue
            span.parent_span_id = root_id
            if i in (1, size - 1):
                span.name, span.kind = "chat claude-sonnet-4-6", Span.SPAN_KIND_CLIENT
                span.attributes.extend([_attr("gen_ai.operation.name", "chat"),
                                        _attr("gen_ai.request.model", "claude-sonnet-4-6"),
                                        _attr("gen_ai.usage.input_tokens", rng.randrange(500, 3000)),
                                        _attr("gen_ai.usage.output_tokens", rng.randrange(50, 400))])
            else:
                tool = rng.choice(TOOLS)
                span.name = f"execute_tool {tool}"
                span.attributes.extend([_attr("gen_ai.operation.name", "execute_tool"),
                                        _attr("gen_ai.tool.name", tool)])
                if rng.random() < 0.05:
                    span.status.code = Status.STATUS_CODE_ERROR
                    span.status.message = "upstream timeout"
                    span.attributes.append(_attr("error.type", "TimeoutError"))
    return request


def as_json(request: ExportTraceServiceRequest) -> bytes:
    """OTLP/JSON: the proto3 JSON mapping with trace and span ids in hex."""
    doc = json_format.MessageToDict(request, use_integers_for_enums=True)
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(doc).encode()


def bench_ingest(url: str, producer_key: str, batches: int, clients: int, encoding: str, seed: int) -> dict:
    rng = random.Random(seed)
    messages = [batch(rng, seed * 10_000 + i) for i in range(batches)]
    bodies = [m.SerializeToString() if encoding == "protobuf" else as_json(m) for m in messages]
    headers = {"Authorization": f"Bearer {producer_key}",
               "Content-Type": "application/x-protobuf" if encoding == "protobuf" else "application/json"}
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=clients)) as http:
        http.post(f"{P}/v1/traces", content=bodies[0], headers=headers)  # warm both the path and the worker

        def send(body: bytes) -> int:
            started = time.perf_counter()
            r = http.post(f"{P}/v1/traces", content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 202, r.text
            return SPANS_PER_BATCH

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            spans = sum(pool.map(send, bodies[1:]))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"encoding": encoding, "batches": batches - 1, "spans": spans, "clients": clients,
            "body_bytes_per_batch": round(statistics.mean(len(b) for b in bodies)),
            "seconds": round(elapsed, 2), "spans_per_s": round(spans / elapsed),
            "request_p50_ms": round(ordered[len(ordered) // 2], 1),
            "request_p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)}


# --------------------------------------------------------------------------- 1,000,000 records


def bulk_load(data_dir: Path, records: int) -> dict[str, str]:
    """Mint a project, then insert `records` rows with sqlite3 in one transaction."""
    from handlers.loopkit import projects
    from server.settings import Settings
    from storage import all_models, db

    settings = Settings().replace(data_dir=data_dir, database_url="")
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    with db.database.connection_context():
        minted = projects.mint(settings, "bench-diagnose")
    db.database.close()
    pid = minted.project.id
    rng = random.Random(11)
    now_ms = int(time.time() * 1000)
    span_ms = 7 * 86400 * 1000
    raw = json.dumps({"kind": 1, "status": {"code": 0, "message": ""}, "attributes": {}, "resource": {},
                      "scope": {"name": "bench", "version": "1.0", "attributes": {}}, "events": [], "links": []})
    columns = ("project", "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ms", "end_ms", "start_ns",
               "end_ns", "duration_ms", "status_code", "status_message", "is_error", "error_type",
               "exception_message", "service", "environment", "session_id", "session_key", "agent", "operation",
               "unit", "model", "input_tokens", "output_tokens", "tool_name", "received_ms", "raw")

    traces = -(-records // 8)

    def rows():
        # in time order, as ingest appends them: trace k starts k/traces of the way through the week
        made = 0
        while made < records:
            trace = rng.randbytes(16).hex()
            root = rng.randbytes(8).hex()
            start = now_ms - span_ms + (made // 8) * span_ms // traces + rng.randrange(0, 1000)
            session = f"s{rng.randrange(records // 40)}"
            for i in range(min(8, records - made)):
                begin = start + i
                duration = rng.randrange(5, 900) + (4000 if rng.random() < 0.002 else 0)
                failed = i > 1 and rng.random() < 0.05
                tool = rng.choice(TOOLS) if i not in (0, 1, 7) else None
                unit = "agent" if i == 0 else "tool_call" if tool else "llm_call"
                tokens = (rng.randrange(500, 3000), rng.randrange(50, 400)) if unit == "llm_call" else (None, None)
                name = ("invoke_agent planner" if i == 0 else f"execute_tool {tool}" if tool
                        else "chat claude-sonnet-4-6")
                yield (pid, trace, root if i == 0 else rng.randbytes(8).hex(), "" if i == 0 else root, name, 1,
                       begin, begin + duration, begin * 10**6, (begin + duration) * 10**6, float(duration),
                       2 if failed else 0, "upstream timeout" if failed else None, failed,
                       "TimeoutError" if failed else None, None, "bench-agent", "production", session, session,
                       "planner", {"agent": "invoke_agent", "tool_call": "execute_tool", "llm_call": "chat"}[unit],
                       unit, "claude-sonnet-4-6" if unit == "llm_call" else None, tokens[0], tokens[1], tool, begin,
                       raw)
                made += 1

    started = time.perf_counter()
    connection = sqlite3.connect(settings.resolved_database_url.removeprefix("sqlite:///"))
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        connection.executemany(
            f"INSERT INTO loopkit_record ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows())
        connection.execute("UPDATE loopkit_project SET spans_used = ? WHERE id = ?", (records, pid))
    connection.execute("ANALYZE")
    connection.close()
    return {"project_id": pid, "agent_key": minted.agent_key, "load_seconds": round(time.perf_counter() - started, 1)}


def time_diagnose(url: str, agent_key: str, since_minutes: int, rounds: int) -> dict:
    samples, packet = [], {}
    with httpx.Client(base_url=url, timeout=300) as http:
        for _ in range(rounds):
            started = time.perf_counter()
            r = http.post(f"{P}/v1/runs/diagnose", json={"since_minutes": since_minutes},
                          headers={"Authorization": f"Bearer {agent_key}"})
            samples.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text
            packet = r.json()["packet"]
    return {"since_minutes": since_minutes, "telemetry_read": packet["telemetry_read"],
            "window_capped": packet["window"]["capped"], "issues": len(packet["issues"]),
            "rounds": rounds, "median_ms": round(statistics.median(samples), 1),
            "min_ms": round(min(samples), 1), "max_ms": round(max(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=41, help="exports per encoding (the first warms up)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report: dict = {"benchmark": "loopkit", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "load_average": os.getloadavg()}}

    with pentapi_server(workers=2, env=ENV) as url:
        minted = httpx.post(f"{url}{P}/v1/provision", json={"project_name": "bench-ingest"}, timeout=30).json()
        report["ingest"] = [bench_ingest(url, minted["producer_key"], args.batches, args.clients, encoding, seed)
                            for seed, encoding in enumerate(("json", "protobuf"), 1)]

    data_dir = Path(tempfile.mkdtemp(prefix="bench-loopkit-"))
    loaded = bulk_load(data_dir, args.records)
    report["diagnose"] = {"records": args.records, "spread_days": 7, "load_seconds": loaded["load_seconds"],
                          "db_bytes": (data_dir / "pentapi.sqlite3").stat().st_size, "runs": []}
    with pentapi_server(workers=2, data_dir=data_dir, env=ENV) as url:
        for minutes in (60, 1440, 43200):
            report["diagnose"]["runs"].append({"max_records": 100_000,
                                               **time_diagnose(url, loaded["agent_key"], minutes, args.rounds)})
    with pentapi_server(workers=2, data_dir=data_dir, env={**ENV, "LOOPKIT_WINDOW_MAX_RECORDS": "1000000"}) as url:
        report["diagnose"]["runs"].append({"max_records": 1_000_000,
                                           **time_diagnose(url, loaded["agent_key"], 43200, max(2, args.rounds // 2))})

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "loopkit.json").write_text(json.dumps(report, indent=2) + "\n")
    for row in report["ingest"]:
        print(f"loopkit/ingest {row['encoding']}: {row['spans_per_s']} spans/s ({row['batches']} x 512 spans, "
              f"{row['clients']} clients, p50 {row['request_p50_ms']} ms, p99 {row['request_p99_ms']} ms)")
    for row in report["diagnose"]["runs"]:
        print(f"loopkit/diagnose {row['since_minutes']} min over {args.records} records (cap {row['max_records']}): "
              f"read {row['telemetry_read']}, median {row['median_ms']} ms (min {row['min_ms']}, max {row['max_ms']})")


if __name__ == "__main__":
    main()
