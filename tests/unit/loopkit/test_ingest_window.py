"""Ingest and window SQL on a real SQLite file: dedupe, session propagation across batches,
the exact quota, the window cap, diagnosis facts, and that the window queries use indexes."""

from __future__ import annotations

import threading

import pytest

from handlers.loopkit import diagnosis, ingest, projects, window
from handlers.loopkit.otlp import Span, decode_protobuf
from storage import db
from storage.loopkit import Project, Record
from tests.api.loopkit.otel import run_workload, sdk_spans, to_protobuf

NOW_NS = 1_800_000_000_000 * 1_000_000


def span(trace: int, sid: int, *, parent: int = 0, attrs: dict | None = None, start_ms: int = 0, **kw) -> Span:
    start = NOW_NS - 60_000_000_000 + start_ms * 1_000_000
    return Span(trace_id=f"{trace:032x}", span_id=f"{sid:016x}", parent_span_id=f"{parent:016x}" if parent else "",
                name=kw.pop("name", "op"), kind=1, start_ns=start, end_ns=start + kw.pop("dur_ms", 10) * 1_000_000,
                status_code=kw.pop("status", 0), status_message="", attributes=attrs or {}, resource={},
                scope={"name": "t", "version": "", "attributes": {}}, **kw)


@pytest.fixture
def pid(database, settings) -> str:
    return projects.mint(settings.replace(loopkit_secret=""), "unit").project.id


def test_duplicates_are_accepted_not_stored_twice(pid):
    spans = [span(1, 1), span(1, 2), span(1, 2)]
    assert ingest.store(pid, spans) == ingest.Stored(accepted=2, duplicates=1, rejected=0)
    assert ingest.store(pid, spans[:2]) == ingest.Stored(accepted=0, duplicates=2, rejected=0)
    assert Record.select().count() == 2
    assert Project.get_by_id(pid).spans_used == 2


def test_session_id_propagates_over_the_trace_whenever_it_arrives(pid):
    ingest.store(pid, [span(7, 2, parent=1), span(7, 3, parent=1)])  # children first, no session id
    assert {r.session_key for r in Record.select()} == {f"{7:032x}"}
    ingest.store(pid, [span(7, 1, attrs={"gen_ai.conversation.id": "conv-7"})])  # the root, later
    ingest.store(pid, [span(7, 4, parent=1)])  # a straggler after the root
    assert {(r.session_id, r.session_key) for r in Record.select()} == {("conv-7", "conv-7")}


def test_quota_is_exact_and_partial(pid, settings):
    Project.update(quota_spans=10).where(Project.id == pid).execute()
    assert ingest.store(pid, [span(1, i) for i in range(1, 8)]).accepted == 7
    assert ingest.store(pid, [span(2, i) for i in range(1, 8)]) == ingest.Stored(3, 0, 4)
    assert ingest.store(pid, [span(3, 1)]) == ingest.Stored(0, 0, 1)
    # a retry of stored spans is not rejected by a full quota
    assert ingest.store(pid, [span(1, 1)]) == ingest.Stored(0, 1, 0)
    assert Record.select().count() == 10 and Project.get_by_id(pid).spans_used == 10


def test_quota_holds_under_concurrent_threads(pid):
    Project.update(quota_spans=50).where(Project.id == pid).execute()
    results: list[ingest.Stored] = []

    def send(n: int) -> None:
        with db.database.connection_context():
            results.append(ingest.store(pid, [span(100 + n, i) for i in range(1, 11)]))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(r.accepted for r in results) == 50 and sum(r.rejected for r in results) == 30
    assert Record.select().count() == 50 and Project.get_by_id(pid).spans_used == 50


def test_window_cap_keeps_the_newest(pid):
    ingest.store(pid, [span(1, i, start_ms=i * 100) for i in range(1, 21)])
    now_ms = NOW_NS // 1_000_000
    capped = window.bounds(pid, 60, 5, now_ms=now_ms)
    assert capped.capped and window.totals(capped)["records"] == 5
    newest = [r.span_id for r in window.recent(capped, 10)]
    assert newest == [f"{i:016x}" for i in range(20, 15, -1)]
    whole = window.bounds(pid, 60, 100, now_ms=now_ms)
    assert not whole.capped and window.totals(whole)["records"] == 20
    assert window.totals(window.bounds(pid, 1, 100, now_ms=now_ms + 120_000))["records"] == 0


def test_facts_of_the_seeded_workload(pid):
    spans = decode_protobuf(to_protobuf(sdk_spans(lambda t: run_workload(t, good=6, failing=4))))
    ingest.store(pid, spans)
    b = window.bounds(pid, 60, 100_000)
    found, totals = window.facts(b)
    assert totals["records"] == len(spans) == found.records
    assert totals["sessions"] == 10 and totals["tool_failures"] == 12
    tool_group = next(g for g in found.error_groups if g.tool_name == "search_flights")
    assert tool_group.count == 12 and tool_group.traces == 4 and len(tool_group.evidence.record_ids) == 10
    stored = {f"rec_{r.trace_id}_{r.span_id}" for r in Record.select()}
    assert set(tool_group.evidence.record_ids) <= stored
    (loop,) = found.retry_loops
    assert (loop.step, loop.traces, loop.attempts, loop.failures) == ("search_flights", 4, 12, 12)
    assert [o.key for o in found.token_spikes] == ["claude-sonnet-4-6"] and found.token_spikes[0].count == 2
    slow = {o.key: o.count for o in found.latency_outliers}
    assert slow.get("chat claude-sonnet-4-6") == 2
    result = diagnosis.diagnose(found)
    assert [i.signal_type for i in result.issues][:3] == ["tool_call_failed", "retry_loop", "span_error"]


def _plan(query) -> str:
    sql, params = query.sql()
    return " ".join(row[3] for row in db.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))


def test_window_queries_use_the_indexes(pid):
    b = window.bounds(pid, 60, 1000)
    errors = Record.select(Record.name).where(b.where() & Record.error_type.is_null(False))
    assert "loopkit_record_errors" in _plan(errors)
    assert "loopkit_record_project_start_ms" in _plan(Record.select(Record.name).where(b.where()))
    by_session = Record.select().where(b.where() & (Record.session_key == "x"))
    assert "loopkit_record_project_session_key_start_ms" in _plan(by_session)
