"""Diagnosis rules: deterministic, over aggregates of one bounded window, no I/O.

`handlers.loopkit.window` reads a window into `WindowFacts` with aggregate SQL; `diagnose`
turns the facts into issues. The thresholds (`Rules`) are explicit so tests and docs can name
them. Signals, each an issue when it repeats (at least `min_repeat` occurrences):

* tool_call_failed - tool spans (execute_tool / gen_ai.tool.name) with ERROR status, per tool
* span_error       - other spans with ERROR status, per span name and error type
* exception        - spans that recorded an exception but did not fail (handled), per type
* retry_loop       - one step (tool or span name) run >= `retry_attempts` times in one trace
                     with at least one failed attempt: the agent retries instead of recovering
* latency_outlier  - spans slower than `outlier_factor` x the average of the other spans of
                     the same name (and at least `latency_floor_ms` slower)
* token_spike      - model calls using more than `outlier_factor` x the average tokens of the
                     model's other calls (and at least `token_floor` more)

"Average of the others" (leave-one-out) is what makes single outliers visible in small
groups: x > k * (S - x) / (n - 1)  <=>  x > k * S / (n - 1 + k), a threshold per group that
SQL can apply in one pass.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Rules:
    min_records: int = 5  # fewer records in the window: observe_more
    min_repeat: int = 2  # a signal must occur this often to become an issue
    min_group: int = 5  # outlier rules need this many spans of one name / model
    outlier_factor: float = 3.0
    latency_floor_ms: float = 250.0
    token_floor: int = 1000
    retry_attempts: int = 3
    evidence_per_issue: int = 10
    max_issues: int = 20


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Evidence:
    record_ids: list[str]
    traces: list[str]


@dataclass(frozen=True)
class ErrorGroup:
    """Records with an error type (ERROR status or a recorded exception) sharing one key."""

    tool_name: str | None
    name: str
    error_type: str
    failed: bool  # ERROR status (False: exception recorded, span not failed)
    count: int
    traces: int
    roots: int  # how many of them are trace roots (a user-visible turn failed)
    evidence: Evidence


@dataclass(frozen=True)
class OpGroup:
    """Per (span name, tool, model) totals over the window."""

    name: str
    tool_name: str | None
    model: str | None
    unit: str | None
    count: int
    errors: int
    duration_sum: float
    duration_max: float
    token_count: int  # records that reported tokens
    token_sum: int
    token_max: int


@dataclass(frozen=True)
class Outliers:
    key: str  # span name (latency) or model (tokens)
    count: int
    group_size: int
    threshold: float
    worst: float
    evidence: Evidence


@dataclass(frozen=True)
class RetryLoop:
    step: str
    traces: int
    attempts: int
    failures: int
    evidence: Evidence


@dataclass
class WindowFacts:
    records: int
    traces: int
    sessions: int
    errors: int
    error_groups: list[ErrorGroup] = field(default_factory=list)
    op_groups: list[OpGroup] = field(default_factory=list)
    latency_outliers: list[Outliers] = field(default_factory=list)
    token_spikes: list[Outliers] = field(default_factory=list)
    retry_loops: list[RetryLoop] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    issue_id: str
    title: str
    severity: str
    signal_type: str
    count: int
    evidence_ids: list[str]
    traces: list[str]
    next_action: str
    external_write: bool
    eval_candidate: str
    impact: str


@dataclass(frozen=True)
class CheckResult:
    signal_type: str
    inspected: int
    found: int


@dataclass(frozen=True)
class Diagnosis:
    status: str  # ready_for_issue_diagnosis | observe_more
    issues: list[Finding]
    checks: list[CheckResult]
    approval_required: bool
    approval_reason: str | None
    summary: str


# --------------------------------------------------------------------------- thresholds for SQL


def _groups(op_groups: list[OpGroup], key: str) -> dict[str, dict[str, float]]:
    merged: dict[str, dict[str, float]] = {}
    for g in op_groups:
        k = g.name if key == "name" else g.model
        if k is None:
            continue
        m = merged.setdefault(k, {"n": 0, "sum": 0.0, "max": 0.0, "tn": 0, "tsum": 0, "tmax": 0})
        m["n"] += g.count
        m["sum"] += g.duration_sum
        m["max"] = max(m["max"], g.duration_max)
        m["tn"] += g.token_count
        m["tsum"] += g.token_sum
        m["tmax"] = max(m["tmax"], g.token_max)
    return merged


def _leave_one_out(n: float, total: float, k: float) -> float:
    return k * total / (n - 1 + k)


def latency_thresholds(op_groups: list[OpGroup], rules: Rules = DEFAULT_RULES) -> dict[str, float]:
    """Span name -> the duration above which a span of that name is an outlier, for the groups
    whose slowest span is one (the others cannot hold outliers)."""
    out = {}
    for name, g in _groups(op_groups, "name").items():
        if g["n"] < rules.min_group:
            continue
        threshold = _leave_one_out(g["n"], g["sum"], rules.outlier_factor)
        # ... and at least latency_floor_ms slower than the others' average
        floor = (g["sum"] - g["max"]) / (g["n"] - 1) + rules.latency_floor_ms
        threshold = max(threshold, floor)
        if g["max"] > threshold:
            out[name] = threshold
    return out


def token_thresholds(op_groups: list[OpGroup], rules: Rules = DEFAULT_RULES) -> dict[str, float]:
    """Model -> the token total above which one call of that model is a spike."""
    out = {}
    for model, g in _groups(op_groups, "model").items():
        if g["tn"] < rules.min_group:
            continue
        threshold = _leave_one_out(g["tn"], g["tsum"], rules.outlier_factor)
        floor = (g["tsum"] - g["tmax"]) / (g["tn"] - 1) + rules.token_floor
        threshold = max(threshold, floor)
        if g["tmax"] > threshold:
            out[model] = threshold
    return out


# --------------------------------------------------------------------------- rules


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "signal"


def _finding(signal: str, subject: str, severity: str, count: int, evidence: Evidence, next_action: str,
             external_write: bool, impact: str, detail: str = "") -> Finding:
    key = f"{signal}:{subject}:{detail}"
    return Finding(
        issue_id="iss_" + hashlib.sha256(key.encode()).hexdigest()[:12],
        title=f"{signal} on {subject}" + (f" ({detail})" if detail else ""),
        severity=severity,
        signal_type=signal,
        count=count,
        evidence_ids=evidence.record_ids,
        traces=evidence.traces,
        next_action=next_action,
        external_write=external_write,
        eval_candidate=f"{_slug(subject)}-{_slug(signal)}-v1",
        impact=impact,
    )


def _merge(evidences: list[Evidence], limit: int) -> Evidence:
    ids, traces = [], []
    for e in evidences:
        ids += [i for i in e.record_ids if i not in ids]
        traces += [t for t in e.traces if t not in traces]
    return Evidence(ids[:limit], traces[:limit])


def tool_failures(facts: WindowFacts, rules: Rules) -> list[Finding]:
    calls: dict[str, int] = {}
    for g in facts.op_groups:
        if g.tool_name:
            calls[g.tool_name] = calls.get(g.tool_name, 0) + g.count
    by_tool: dict[str, list[ErrorGroup]] = {}
    for g in facts.error_groups:
        if g.failed and g.tool_name:
            by_tool.setdefault(g.tool_name, []).append(g)
    found = []
    for tool, groups in by_tool.items():
        count = sum(g.count for g in groups)
        if count < rules.min_repeat:
            continue
        total = max(calls.get(tool, count), count)
        rate = count / total
        types = sorted({g.error_type for g in groups})
        severity = "high" if rate >= 0.5 or count >= 10 else "medium"
        found.append(_finding(
            "tool_call_failed", tool, severity, count, _merge([g.evidence for g in groups], rules.evidence_per_issue),
            f"Draft eval {_slug(tool)}-tool-call-failed-v1 from the evidence records, then propose a fix for the "
            f"{tool} tool ({', '.join(types)}: timeouts, retries with backoff, input validation) as a tracker issue "
            "or pull request; post it only after a human approves.",
            True, f"{count} of {total} {tool} calls failed ({rate:.0%}) in {sum(g.traces for g in groups)} trace(s)",
            ", ".join(types),
        ))
    return found


def span_errors(facts: WindowFacts, rules: Rules) -> list[Finding]:
    found = []
    for g in facts.error_groups:
        if not g.failed or g.tool_name or g.count < rules.min_repeat:
            continue
        severity = "high" if g.roots >= rules.min_repeat else "medium"
        turns = f"; {g.roots} of them ended the turn" if g.roots else ""
        found.append(_finding(
            "span_error", g.name, severity, g.count, g.evidence,
            f"Open a tracker issue for {g.name} failing with {g.error_type}, with the evidence traces and a patch "
            "plan; post it only after a human approves.",
            True, f"{g.count} {g.name} span(s) failed with {g.error_type} in {g.traces} trace(s){turns}",
            g.error_type,
        ))
    return found


def handled_exceptions(facts: WindowFacts, rules: Rules) -> list[Finding]:
    found = []
    for g in facts.error_groups:
        if g.failed or g.count < rules.min_repeat:
            continue
        found.append(_finding(
            "exception", g.name, "low", g.count, g.evidence,
            f"Review why {g.name} keeps raising {g.error_type} even though it recovers; add an eval candidate "
            "and re-read the next window.",
            False, f"{g.count} {g.name} span(s) recorded {g.error_type} without failing", g.error_type,
        ))
    return found


def retry_loops(facts: WindowFacts, rules: Rules) -> list[Finding]:
    found = []
    for loop in facts.retry_loops:
        severity = "high" if loop.traces >= 3 else "medium"
        found.append(_finding(
            "retry_loop", loop.step, severity, loop.traces, loop.evidence,
            f"Propose a retry cap with backoff (or a fallback path) for {loop.step} as a pull request; post it only "
            "after a human approves.",
            True, f"{loop.step} ran {loop.attempts} times in {loop.traces} trace(s) ({loop.failures} failed attempts)",
        ))
    return found


def latency(facts: WindowFacts, rules: Rules) -> list[Finding]:
    found = []
    for o in facts.latency_outliers:
        if o.count < rules.min_repeat:
            continue
        share = o.count / max(o.group_size, 1)
        found.append(_finding(
            "latency_outlier", o.key, "medium" if share >= 0.1 else "low", o.count, o.evidence,
            f"Compare the slow {o.key} spans with their siblings (inputs, model, upstream) and add a latency eval; "
            "re-read the next window before proposing a change.",
            False, f"{o.count} of {o.group_size} {o.key} spans took over {o.threshold:.0f} ms (worst {o.worst:.0f} ms)",
        ))
    return found


def tokens(facts: WindowFacts, rules: Rules) -> list[Finding]:
    found = []
    for o in facts.token_spikes:
        if o.count < rules.min_repeat:
            continue
        share = o.count / max(o.group_size, 1)
        found.append(_finding(
            "token_spike", o.key, "medium" if share >= 0.1 else "low", o.count, o.evidence,
            f"Inspect the prompts of the spiking {o.key} calls (context growth, repeated tool output) and add a "
            "token-budget eval; re-read the next window.",
            False, f"{o.count} of {o.group_size} {o.key} calls used over {o.threshold:.0f} tokens "
                   f"(worst {o.worst:.0f})",
        ))
    return found


def diagnose(facts: WindowFacts, rules: Rules = DEFAULT_RULES) -> Diagnosis:
    tool_calls = sum(g.count for g in facts.op_groups if g.tool_name)
    token_calls = sum(g.token_count for g in facts.op_groups)
    failing_traces = len({t for g in facts.error_groups for t in g.evidence.traces})
    results = [
        ("tool_call_failed", tool_calls, tool_failures(facts, rules)),
        ("span_error", facts.records, span_errors(facts, rules)),
        ("exception", facts.records, handled_exceptions(facts, rules)),
        ("retry_loop", failing_traces, retry_loops(facts, rules)),
        ("latency_outlier", facts.records, latency(facts, rules)),
        ("token_spike", token_calls, tokens(facts, rules)),
    ]
    checks = [CheckResult(signal, inspected, len(found)) for signal, inspected, found in results]
    if facts.records < rules.min_records:
        return Diagnosis("observe_more", [], checks, False, None,
                         f"The window holds {facts.records} record(s); diagnosis needs at least {rules.min_records}. "
                         "Send more telemetry or widen since_minutes.")
    issues = sorted((f for _, _, found in results for f in found),
                    key=lambda f: (SEVERITY_RANK[f.severity], -f.count, f.title))[: rules.max_issues]
    writes = [f for f in issues if f.external_write]
    reason = None
    if writes:
        reason = (f"{len(writes)} issue(s) propose an external write (a tracker issue or pull request). LoopKit never "
                  "writes outside itself: a human approves each one before it is posted.")
    if not issues:
        summary = (f"Inspected {facts.records} records in {facts.traces} trace(s): no repeated failure signal. "
                   "Keep observing.")
        return Diagnosis("observe_more", [], checks, False, None, summary)
    summary = (f"Inspected {facts.records} records in {facts.traces} trace(s); {facts.errors} failed. "
               f"{len(issues)} repeated signal(s), worst: {issues[0].title}.")
    return Diagnosis("ready_for_issue_diagnosis", issues, checks, bool(writes), reason, summary)
