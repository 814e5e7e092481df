"""The markdown report (GET /v1/reports/latest.md): the latest diagnosis packet and the
current window, as a human reads it. Pure: data in, text out.

Every string that came from telemetry (span names, error messages) is escaped, so a span
named "| x |" or "`rm -rf`" cannot break the table or the code spans.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

from handlers.loopkit.shapes import DiagnosisPacket

# What can start markup inline: emphasis, code, links, HTML, table cells, strikethrough; an
# underscore only at a word's edge (inside a word, like search_flights, it is literal).
_SPECIAL = re.compile(r"([\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def escape(text: t.Any) -> str:
    """Inline markdown text: markup characters backslash-escaped, newlines flattened."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(project: dict[str, t.Any], stats: dict[str, t.Any], window: dict[str, t.Any],
           packet: DiagnosisPacket | None, now: dt.datetime) -> str:
    lines = [
        f"# LoopKit report: {escape(project['project_id'])}",
        "",
        f"Generated {_when(now)}. Window: the last {window['since_minutes']} minutes "
        f"({_when(window['start'])} to {_when(window['end'])})"
        + (f", capped at the newest {window['max_records']} records." if window["capped"] else "."),
        "",
        "## Window",
        "",
        "| records | traces | sessions | errors | error rate | tool calls | tool failures | llm calls | tokens in | "
        "tokens out |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {stats['records']} | {stats['traces']} | {stats['sessions']} | {stats['errors']} | "
        f"{stats['error_rate']:.1%} | {stats['tool_calls']} | {stats['tool_failures']} | {stats['llm_calls']} | "
        f"{stats['input_tokens']} | {stats['output_tokens']} |",
        "",
    ]
    quota = project.get("quota_spans")
    lines += [f"Spans stored: {project['spans_used']}" + (f" of {quota} (quota_spans)." if quota else "."), ""]
    if packet is None:
        lines += ["## Latest diagnosis", "", "No diagnosis packet yet: run `POST /v1/runs/diagnose`.", ""]
        return "\n".join(lines)
    lines += [
        f"## Latest diagnosis: {escape(packet.packet_id)}",
        "",
        f"- created: {_when(packet.created_at)}, over the last {packet.since_minutes} minutes",
        f"- status: **{packet.status.value}**",
        f"- records read: {packet.telemetry_read}, failures: {packet.failures}",
        f"- approval required: **{'yes' if packet.approval_required else 'no'}**"
        + (f" ({escape(packet.approval_reason)})" if packet.approval_reason else ""),
        "",
        escape(packet.summary),
        "",
    ]
    if not packet.issues:
        lines += ["Checks run: " + ", ".join(f"{c.signal_type} ({c.inspected} inspected)" for c in packet.checks) + ".",
                  "", "No repeated failure signal.", ""]
        return "\n".join(lines)
    for n, issue in enumerate(packet.issues, 1):
        lines += [
            f"### {n}. [{issue.severity}] {escape(issue.title)}",
            "",
            f"- signal: `{issue.signal_type}`, count: {issue.count}",
            f"- impact: {escape(issue.impact)}",
            f"- next action{' (needs approval)' if issue.external_write else ''}: {escape(issue.next_action)}",
            f"- eval candidate: `{issue.eval_candidate}`",
            "- evidence: " + ", ".join(f"`{e}`" for e in issue.evidence_ids or []),
            "- traces: " + ", ".join(f"`{tr}`" for tr in issue.traces or []),
            "",
        ]
    return "\n".join(lines)
