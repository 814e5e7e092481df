"""The diagnosis rules on hand-built window facts: no database, no server."""

from __future__ import annotations

from handlers.loopkit import diagnosis as D


def ev(*ids: str) -> D.Evidence:
    return D.Evidence([f"rec_{i}" for i in ids], [f"t{i}" for i in ids])


def op(name: str, count: int, *, tool: str | None = None, model: str | None = None, errors: int = 0,
       dsum: float = 0.0, dmax: float = 0.0, tn: int = 0, tsum: int = 0, tmax: int = 0) -> D.OpGroup:
    return D.OpGroup(name, tool, model, "tool_call" if tool else None, count, errors, dsum, dmax, tn, tsum, tmax)


def facts(**kw) -> D.WindowFacts:
    base = dict(records=100, traces=20, sessions=10, errors=0)
    base.update(kw)
    return D.WindowFacts(**base)


def test_too_little_telemetry_is_observe_more():
    out = D.diagnose(facts(records=3, error_groups=[
        D.ErrorGroup("search", "execute_tool search", "TimeoutError", True, 3, 1, 0, ev("a", "b", "c"))]))
    assert out.status == "observe_more" and out.issues == [] and not out.approval_required
    assert "3 record(s)" in out.summary


def test_a_clean_window_reads_as_inspected():
    out = D.diagnose(facts(op_groups=[op("chat", 50, dsum=500, dmax=12)]))
    assert out.status == "observe_more" and out.issues == []
    assert {c.signal_type for c in out.checks} == {"tool_call_failed", "span_error", "exception", "retry_loop",
                                                   "latency_outlier", "token_spike"}
    assert all(c.found == 0 for c in out.checks) and "no repeated failure signal" in out.summary


def test_failing_tool_is_an_issue_that_needs_approval():
    out = D.diagnose(facts(errors=6, op_groups=[op("execute_tool search", 10, tool="search", errors=6)],
                           error_groups=[D.ErrorGroup("search", "execute_tool search", "TimeoutError", True, 6, 3, 0,
                                                      ev("a", "b"))]))
    assert out.status == "ready_for_issue_diagnosis" and out.approval_required
    (issue,) = out.issues
    assert issue.signal_type == "tool_call_failed" and issue.title == "tool_call_failed on search (TimeoutError)"
    assert issue.severity == "high" and issue.count == 6  # 60% of the calls failed
    assert issue.evidence_ids == ["rec_a", "rec_b"] and issue.traces == ["ta", "tb"]
    assert issue.external_write and "approve" in issue.next_action
    assert issue.eval_candidate == "search-tool-call-failed-v1" and "6 of 10 search calls failed (60%)" in issue.impact
    assert "external write" in out.approval_reason


def test_a_single_failure_is_not_repeated():
    out = D.diagnose(facts(error_groups=[D.ErrorGroup("search", "x", "E", True, 1, 1, 0, ev("a"))]))
    assert out.issues == []


def test_medium_tool_failure_rate():
    out = D.diagnose(facts(op_groups=[op("execute_tool s", 100, tool="s", errors=3)],
                           error_groups=[D.ErrorGroup("s", "execute_tool s", "E", True, 3, 3, 0, ev("a"))]))
    assert out.issues[0].severity == "medium"


def test_span_errors_handled_exceptions_and_ordering():
    out = D.diagnose(facts(error_groups=[
        D.ErrorGroup(None, "checkout", "PaymentDeclined", True, 4, 4, 4, ev("a")),
        D.ErrorGroup(None, "render", "KeyError", True, 2, 2, 0, ev("b")),
        D.ErrorGroup(None, "cache", "ConnectionReset", False, 9, 5, 0, ev("c")),
    ]))
    assert [(i.signal_type, i.severity) for i in out.issues] == [
        ("span_error", "high"), ("span_error", "medium"), ("exception", "low")]
    assert out.issues[2].external_write is False and out.approval_required


def test_only_non_writing_issues_need_no_approval():
    out = D.diagnose(facts(error_groups=[D.ErrorGroup(None, "cache", "ConnectionReset", False, 3, 2, 0, ev("c"))]))
    assert out.status == "ready_for_issue_diagnosis" and not out.approval_required and out.approval_reason is None


def test_retry_loops():
    out = D.diagnose(facts(retry_loops=[D.RetryLoop("search_flights", 4, 12, 12, ev("a", "b"))]))
    (issue,) = out.issues
    assert (issue.signal_type, issue.severity, issue.count) == ("retry_loop", "high", 4)
    assert "ran 12 times in 4 trace(s)" in issue.impact


def test_leave_one_out_thresholds():
    # 9 spans of 100 ms and one of 2000 ms: the others average 100 ms, so 2000 is an outlier.
    groups = [op("chat", 9, dsum=900, dmax=100), op("chat", 1, model="m", dsum=2000, dmax=2000)]
    thresholds = D.latency_thresholds(groups)
    assert set(thresholds) == {"chat"}
    # k*S/(n-1+k) = 3*2900/12 = 725; floor = others' average (100) + 250 = 350
    assert thresholds["chat"] == 725.0
    # a group whose slowest span is not past its threshold yields none
    assert D.latency_thresholds([op("chat", 10, dsum=1000, dmax=110)]) == {}
    # too small a group is never judged
    assert D.latency_thresholds([op("chat", 4, dsum=2300, dmax=2000)]) == {}
    # fast spans: 3x slower but under the floor is no outlier
    assert D.latency_thresholds([op("x", 9, dsum=9, dmax=1), op("x", 1, dsum=30, dmax=30)]) == {}


def test_token_thresholds():
    groups = [op("chat", 10, model="m", tn=10, tsum=9 * 1000 + 12000, tmax=12000)]
    assert D.token_thresholds(groups) == {"m": 3 * 21000 / 12}
    assert D.token_thresholds([op("chat", 10, model="m", tn=10, tsum=10 * 1000, tmax=1000)]) == {}


def test_outlier_issues_need_repeats():
    one = D.Outliers("chat", 1, 10, 725.0, 2000.0, ev("a"))
    two = D.Outliers("chat", 2, 10, 725.0, 2100.0, ev("a", "b"))
    assert D.diagnose(facts(latency_outliers=[one])).issues == []
    (issue,) = D.diagnose(facts(latency_outliers=[two], token_spikes=[])).issues
    assert (issue.signal_type, issue.severity, issue.external_write) == ("latency_outlier", "medium", False)
    (spike,) = D.diagnose(facts(token_spikes=[D.Outliers("m", 2, 100, 5000, 9000, ev("x"))])).issues
    assert (spike.signal_type, spike.severity, spike.title) == ("token_spike", "low", "token_spike on m")


def test_issue_ids_are_deterministic_and_issues_capped():
    groups = [D.ErrorGroup(None, f"op{i}", "E", True, 2, 1, 0, ev(str(i))) for i in range(30)]
    first, second = D.diagnose(facts(error_groups=groups)), D.diagnose(facts(error_groups=groups))
    assert len(first.issues) == 20
    assert [i.issue_id for i in first.issues] == [i.issue_id for i in second.issues]
