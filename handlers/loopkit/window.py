"""Bounded windows over one project's records, read with indexed, aggregate SQL.

A window is every record whose start time is within `since_minutes` of now (and not past now
by more than CLOCK_SKEW_MS), capped at the newest `max_records` of them
(LOOPKIT_WINDOW_MAX_RECORDS): the cap is found with one index-only probe on (project,
start_ms), so a window read costs at most that many rows whatever the table holds.
Diagnosis facts take a handful of passes over the window (totals, per-operation groups,
errors through their partial index, outliers, retry loops), each an aggregate; only evidence
samples (a few ids per signal) come back as rows.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from dataclasses import dataclass

import peewee
from peewee import fn

from handlers.loopkit import diagnosis as D
from handlers.loopkit import records
from storage.loopkit import Record

R = Record
# How far past the request time a record's start may be and still count: producers' clocks run
# a little ahead. Beyond it a span is future-dated (a bad clock, a year-2500 timestamp) and is in
# no window until its time comes; without this bound it would sit in every window and, under
# the newest-first cap, push real records out of diagnosis.
CLOCK_SKEW_MS = 5 * 60_000


@dataclass(frozen=True)
class Bounds:
    project_id: str
    since_minutes: int
    start_ms: int  # now - since_minutes
    end_ms: int  # now
    lo_ms: int  # effective lower bound (raised by the cap)
    max_records: int
    capped: bool

    @property
    def hi_ms(self) -> int:
        """The upper bound: now, plus the clock-skew allowance."""
        return self.end_ms + CLOCK_SKEW_MS

    def where(self, alias: type[Record] | peewee.ModelAlias = Record) -> peewee.Expression:
        return (alias.project == self.project_id) & alias.start_ms.between(self.lo_ms, self.hi_ms)

    def describe(self) -> dict[str, t.Any]:
        return {
            "since_minutes": self.since_minutes,
            "start": dt.datetime.fromtimestamp(self.start_ms / 1000, dt.UTC),
            "end": dt.datetime.fromtimestamp(self.end_ms / 1000, dt.UTC),
            "max_records": self.max_records,
            "capped": self.capped,
        }


def bounds(project_id: str, since_minutes: int, max_records: int, now_ms: int | None = None) -> Bounds:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    start = now_ms - since_minutes * 60_000
    # The (max_records + 1)-th newest record of the window, if any: everything from it down is cut.
    in_window = R.start_ms.between(start, now_ms + CLOCK_SKEW_MS)
    beyond = (R.select(R.start_ms).where((R.project == project_id) & in_window)
              .order_by(R.start_ms.desc()).offset(max_records).limit(1).scalar())
    lo = start if beyond is None else beyond + 1
    return Bounds(project_id, since_minutes, start, now_ms, lo, max_records, beyond is not None)


def _record_id(trace_id: str, span_id: str) -> str:
    return records.record_id(trace_id, span_id)


def _evidence(rows: t.Iterable[tuple[str, str]]) -> D.Evidence:
    ids, traces = [], []
    for trace_id, span_id in rows:
        ids.append(_record_id(trace_id, span_id))
        if trace_id not in traces:
            traces.append(trace_id)
    return D.Evidence(ids, traces)


# --------------------------------------------------------------------------- totals


def _group_rows(b: Bounds) -> list[tuple]:
    """One pass over the window: per (span name, tool, model, unit) counts and sums, from which
    both the diagnosis groups and the window totals are made."""
    tokens = fn.COALESCE(R.input_tokens, 0) + fn.COALESCE(R.output_tokens, 0)
    has_tokens = R.input_tokens.is_null(False) | R.output_tokens.is_null(False)
    return list(R.select(R.name, R.tool_name, R.model, R.unit, fn.COUNT(R.seq), fn.SUM(R.is_error.cast("integer")),
                         fn.SUM(R.duration_ms), fn.MAX(R.duration_ms),
                         fn.SUM(peewee.Case(None, [(has_tokens, 1)], 0)),
                         fn.SUM(peewee.Case(None, [(has_tokens, tokens)], 0)),
                         fn.MAX(peewee.Case(None, [(has_tokens, tokens)], 0)),
                         fn.SUM(R.input_tokens), fn.SUM(R.output_tokens))
                .where(b.where()).group_by(R.name, R.tool_name, R.model, R.unit).tuples())


def _groups(rows: list[tuple]) -> list[D.OpGroup]:
    return [D.OpGroup(name, tool, model, unit, count, int(errors or 0), float(dsum or 0), float(dmax or 0),
                      int(tn or 0), int(tsum or 0), int(tmax or 0))
            for name, tool, model, unit, count, errors, dsum, dmax, tn, tsum, tmax, _, _ in rows]


def _totals(b: Bounds, rows: list[tuple]) -> dict[str, t.Any]:
    traces, sessions = (R.select(fn.COUNT(R.trace_id.distinct()), fn.COUNT(R.session_key.distinct()))
                        .where(b.where()).tuples().get())
    out: dict[str, t.Any] = {"records": 0, "traces": int(traces or 0), "sessions": int(sessions or 0), "errors": 0,
                             "tool_calls": 0, "tool_failures": 0, "llm_calls": 0, "input_tokens": 0,
                             "output_tokens": 0, "avg_duration_ms": None, "max_duration_ms": None}
    duration = 0.0
    for _name, _tool, _model, unit, count, errors, dsum, dmax, _tn, _tsum, _tmax, tin, tout in rows:
        out["records"] += count
        out["errors"] += int(errors or 0)
        out["tool_calls"] += count if unit == "tool_call" else 0
        out["tool_failures"] += int(errors or 0) if unit == "tool_call" else 0
        out["llm_calls"] += count if unit == "llm_call" else 0
        out["input_tokens"] += int(tin or 0)
        out["output_tokens"] += int(tout or 0)
        duration += float(dsum or 0)
        out["max_duration_ms"] = max(out["max_duration_ms"] or 0.0, float(dmax or 0))
    if out["records"]:
        out["avg_duration_ms"] = duration / out["records"]
    out["error_rate"] = round(out["errors"] / out["records"], 4) if out["records"] else 0.0
    return out


def totals(b: Bounds) -> dict[str, t.Any]:
    """The window's stats: records, traces, sessions, errors, tool and model calls, tokens."""
    return _totals(b, _group_rows(b))


# --------------------------------------------------------------------------- diagnosis facts


def op_groups(b: Bounds) -> list[D.OpGroup]:
    return _groups(_group_rows(b))


def error_groups(b: Bounds, per_group: int) -> list[D.ErrorGroup]:
    """Failed spans and spans with a recorded exception, grouped, read through the partial
    index on error records; a window function keeps only the newest `per_group` of each group
    as evidence."""
    errors = b.where() & R.error_type.is_null(False)
    tool = fn.COALESCE(R.tool_name, "")
    key = (tool, R.name, R.error_type, R.is_error)
    stats = (R.select(*key, fn.COUNT(R.seq), fn.COUNT(R.trace_id.distinct()),
                      fn.SUM(peewee.Case(None, [(R.parent_span_id == "", 1)], 0)))
             .where(errors).group_by(*key).tuples())
    ranked = (R.select(tool.alias("tool"), R.name, R.error_type, R.is_error, R.trace_id, R.span_id,
                       fn.ROW_NUMBER().over(partition_by=list(key), order_by=[R.start_ms.desc(), R.seq.desc()])
                       .alias("rn"))
              .where(errors)).alias("ranked")
    rows = (peewee.Select([ranked], [ranked.c.tool, ranked.c.name, ranked.c.error_type, ranked.c.is_error,
                                     ranked.c.trace_id, ranked.c.span_id])
            .where(ranked.c.rn <= per_group).bind(Record._meta.database))
    samples: dict[tuple, list[tuple[str, str]]] = {}
    for tool_name, name, error_type, is_error, trace_id, span_id in rows.tuples():
        samples.setdefault((tool_name, name, error_type, bool(is_error)), []).append((trace_id, span_id))
    return [D.ErrorGroup(tool_name or None, name, error_type, bool(is_error), count, traces, int(roots or 0),
                         _evidence(samples.get((tool_name, name, error_type, bool(is_error)), [])))
            for tool_name, name, error_type, is_error, count, traces, roots in stats]


def _outliers(b: Bounds, column: peewee.Node, value: peewee.Node, thresholds: dict[str, float],
              sizes: dict[str, int], per_group: int) -> list[D.Outliers]:
    if not thresholds:
        return []
    condition = None
    for key, threshold in sorted(thresholds.items()):
        term = (column == key) & (value > threshold)
        condition = term if condition is None else condition | term
    ranked = (R.select(column.alias("k"), R.trace_id, R.span_id, value.alias("v"),
                       fn.ROW_NUMBER().over(partition_by=[column], order_by=[value.desc(), R.seq.desc()]).alias("rn"),
                       fn.COUNT(R.seq).over(partition_by=[column]).alias("n"))
              .where(b.where() & condition)).alias("ranked")
    rows = (peewee.Select([ranked], [ranked.c.k, ranked.c.trace_id, ranked.c.span_id, ranked.c.v, ranked.c.n])
            .where(ranked.c.rn <= per_group).order_by(ranked.c.k, ranked.c.rn).bind(Record._meta.database))
    found: dict[str, dict[str, t.Any]] = {}
    for key, trace_id, span_id, v, n in rows.tuples():
        entry = found.setdefault(key, {"n": n, "worst": v, "rows": []})
        entry["rows"].append((trace_id, span_id))
    return [D.Outliers(key, e["n"], sizes.get(key, e["n"]), thresholds[key], float(e["worst"]), _evidence(e["rows"]))
            for key, e in sorted(found.items())]


def retry_loops(b: Bounds, rules: D.Rules) -> list[D.RetryLoop]:
    """Steps (tool name, else span name) run >= retry_attempts times in one trace with at least
    one failure. Only traces holding a failure are looked at (the errors' partial index)."""
    step = fn.COALESCE(R.tool_name, R.name)
    failing = R.select(R.trace_id).where(b.where() & R.error_type.is_null(False) & R.is_error).distinct()
    per_trace = (R.select(step.alias("step"), R.trace_id, fn.COUNT(R.seq).alias("attempts"),
                          fn.SUM(R.is_error.cast("integer")).alias("failures"))
                 .where(b.where() & R.trace_id.in_(failing))
                 .group_by(step, R.trace_id)
                 .having((fn.COUNT(R.seq) >= rules.retry_attempts) & (fn.SUM(R.is_error.cast("integer")) >= 1))
                 .tuples())
    loops: dict[str, dict[str, t.Any]] = {}
    for name, trace_id, attempts, failures in per_trace:
        entry = loops.setdefault(name, {"traces": [], "attempts": 0, "failures": 0})
        entry["traces"].append(trace_id)
        entry["attempts"] += attempts
        entry["failures"] += int(failures or 0)
    out = []
    for name, entry in sorted(loops.items()):
        sample_traces = sorted(entry["traces"])[: rules.evidence_per_issue]
        sample = (R.select(R.trace_id, R.span_id)
                  .where(b.where() & R.trace_id.in_(sample_traces) & (step == name))
                  .order_by(R.start_ms.desc(), R.seq.desc()).limit(rules.evidence_per_issue).tuples())
        out.append(D.RetryLoop(name, len(entry["traces"]), entry["attempts"], entry["failures"], _evidence(sample)))
    return out


def facts(b: Bounds, rules: D.Rules = D.DEFAULT_RULES) -> tuple[D.WindowFacts, dict[str, t.Any]]:
    """Everything diagnosis needs about the window, and the window's totals."""
    rows = _group_rows(b)
    total = _totals(b, rows)
    groups = _groups(rows)
    name_sizes: dict[str, int] = {}
    model_sizes: dict[str, int] = {}
    for g in groups:
        name_sizes[g.name] = name_sizes.get(g.name, 0) + g.count
        if g.model is not None:
            model_sizes[g.model] = model_sizes.get(g.model, 0) + g.token_count
    tokens = fn.COALESCE(R.input_tokens, 0) + fn.COALESCE(R.output_tokens, 0)
    found = D.WindowFacts(
        records=total["records"],
        traces=total["traces"],
        sessions=total["sessions"],
        errors=total["errors"],
        error_groups=error_groups(b, rules.evidence_per_issue),
        op_groups=groups,
        latency_outliers=_outliers(b, R.name, R.duration_ms, D.latency_thresholds(groups, rules), name_sizes,
                                   rules.evidence_per_issue),
        token_spikes=_outliers(b, R.model, tokens, D.token_thresholds(groups, rules), model_sizes,
                               rules.evidence_per_issue),
        retry_loops=retry_loops(b, rules),
    )
    return found, total


# --------------------------------------------------------------------------- reading records and sessions


def recent(b: Bounds, limit: int) -> list[Record]:
    return list(R.select().where(b.where()).order_by(R.start_ms.desc(), R.start_ns.desc(), R.seq.desc()).limit(limit))


def _summary_columns(alias: type[Record] = R) -> list[peewee.Node]:
    return [
        alias.session_key,
        fn.MAX(alias.session_id),
        fn.MIN(alias.start_ms),
        fn.MAX(alias.end_ms),
        fn.MAX(alias.start_ms),
        fn.COUNT(alias.seq),
        fn.COUNT(alias.trace_id.distinct()),
        fn.SUM(alias.is_error.cast("integer")),
        fn.SUM(peewee.Case(None, [(alias.unit == "tool_call", 1)], 0)),
        fn.SUM(peewee.Case(None, [(alias.unit == "llm_call", 1)], 0)),
        fn.SUM(alias.input_tokens),
        fn.SUM(alias.output_tokens),
        fn.SUM(peewee.Case(None, [((alias.parent_span_id == "") & alias.is_error, 1)], 0)),
        fn.SUM(peewee.Case(None, [(alias.parent_span_id == "", 1)], 0)),
        fn.MAX(alias.service),
        fn.MAX(alias.environment),
    ]


SUMMARY_KEYS = ("session_key", "session_id", "start_ms", "end_ms", "last_start_ms", "turns", "traces", "errors",
                "tool_calls", "llm_calls", "input_tokens", "output_tokens", "root_errors", "roots", "service",
                "environment")


def session_rows(b: Bounds, limit: int, environment: str | None = None) -> list[dict[str, t.Any]]:
    """Session aggregates, most recently active (latest span end) first, `limit` applied after
    grouping."""
    where = b.where()
    if environment is not None:
        where &= R.environment == environment
    query = (R.select(*_summary_columns()).where(where).group_by(R.session_key)
             .order_by(fn.MAX(R.end_ms).desc(), fn.MAX(R.start_ms).desc(), R.session_key.desc())
             .limit(limit).tuples())
    return [dict(zip(SUMMARY_KEYS, row, strict=True)) for row in query]


def session_row(b: Bounds, session_key: str) -> dict[str, t.Any] | None:
    row = (R.select(*_summary_columns()).where(b.where() & (R.session_key == session_key))
           .group_by(R.session_key).tuples().first())
    return dict(zip(SUMMARY_KEYS, row, strict=True)) if row else None


def session_details(b: Bounds, keys: list[str]) -> dict[str, dict[str, t.Any]]:
    """Per session: its agents (in order of first appearance) and how it ended (the last
    failure's type and message, and whether the last root span failed)."""
    if not keys:
        return {}
    out: dict[str, dict[str, t.Any]] = {k: {"agents": [], "end_reason": None, "last_root_failed": None} for k in keys}
    agents = (R.select(R.session_key, R.agent, fn.MIN(R.start_ms))
              .where(b.where() & R.session_key.in_(keys) & R.agent.is_null(False))
              .group_by(R.session_key, R.agent).order_by(R.session_key, fn.MIN(R.start_ms)).tuples())
    for key, agent, _ in agents:
        out[key]["agents"].append(agent)
    last_error = (R.select(R.session_key, R.error_type, R.status_message, R.exception_message,
                           fn.ROW_NUMBER().over(partition_by=[R.session_key], order_by=[R.end_ms.desc(), R.seq.desc()])
                           .alias("rn"))
                  .where(b.where() & R.session_key.in_(keys) & R.error_type.is_null(False) & R.is_error)).alias("e")
    rows = (peewee.Select([last_error], [last_error.c.session_key, last_error.c.error_type, last_error.c.status_message,
                                         last_error.c.exception_message])
            .where(last_error.c.rn == 1).bind(Record._meta.database).tuples())
    for key, error_type, status_message, exception_message in rows:
        message = status_message or exception_message
        out[key]["end_reason"] = f"{error_type}: {message}" if message else error_type
    last_root = (R.select(R.session_key, R.is_error,
                          fn.ROW_NUMBER().over(partition_by=[R.session_key], order_by=[R.end_ms.desc(), R.seq.desc()])
                          .alias("rn"))
                 .where(b.where() & R.session_key.in_(keys) & (R.parent_span_id == ""))).alias("r")
    rows = (peewee.Select([last_root], [last_root.c.session_key, last_root.c.is_error])
            .where(last_root.c.rn == 1).bind(Record._meta.database).tuples())
    for key, is_error in rows:
        out[key]["last_root_failed"] = bool(is_error)
    return out


def session_records(b: Bounds, session_key: str, limit: int) -> list[Record]:
    return list(R.select().where(b.where() & (R.session_key == session_key))
                .order_by(R.start_ms, R.start_ns, R.seq).limit(limit))


def session_of(b: Bounds, ident: str) -> tuple[str, str] | None:
    """(session_key, how it matched) for a session id, a trace id or a record id in the window."""
    if R.select(R.seq).where(b.where() & (R.session_key == ident)).exists():
        return ident, "session_id"
    trace = ident.lower()
    matched = "trace_id"
    parsed = records.parse_record_id(ident)
    query = R.select(R.session_key).where(b.where() & (R.trace_id == trace))
    if parsed:
        matched = "record_id"
        query = R.select(R.session_key).where(b.where() & (R.trace_id == parsed[0]) & (R.span_id == parsed[1]))
    key = query.limit(1).scalar()
    return (key, matched) if key is not None else None

