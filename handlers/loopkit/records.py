"""One span -> one telemetry record: the columns diagnosis and sessions query, extracted from
the OpenTelemetry GenAI semantic conventions (with the OpenInference and older gen_ai names
as fallbacks), plus the raw span kept whole for reading back.

Evidence ids are stable: `rec_<trace_id>_<span_id>`, so a retried export maps to the same
record and an id in a diagnosis packet names the span in the producer's own tracing tools.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

from handlers.loopkit.otlp import STATUS_ERROR, Span

# Session id precedence (Langfuse's order; gen_ai.conversation.id is the semconv name).
SESSION_KEYS = ("session.id", "langfuse.session.id", "gen_ai.conversation.id")
AGENT_KEYS = ("gen_ai.agent.name", "gen_ai.agent.id")
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "model")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
TOOL_KEYS = ("gen_ai.tool.name", "tool.name")
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
# OpenInference span kinds, as GenAI operation names.
OPENINFERENCE_OPERATIONS = {
    "LLM": "chat",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
    "CHAIN": "chain",
    "RETRIEVER": "retrieval",
    "EMBEDDING": "embeddings",
    "RERANKER": "rerank",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluate",
}
UNITS_BY_OPERATION = {
    "chat": "llm_call",
    "generate_content": "llm_call",
    "text_completion": "llm_call",
    "execute_tool": "tool_call",
    "retrieval": "retrieval",
    "embeddings": "retrieval",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "invoke_workflow": "workflow",
    "chain": "graph_node",
}
EXPLICIT_UNITS = ("llm_call", "tool_call", "graph_node", "retrieval")  # the capture contract's `unit`
INT64_MAX = 2**63 - 1  # fixed64 times past 2262 do not fit a signed column
KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")


def record_id(trace_id: str, span_id: str) -> str:
    return f"rec_{trace_id}_{span_id}"


def parse_record_id(value: str) -> tuple[str, str] | None:
    parts = value.lower().split("_")
    if len(parts) == 3 and parts[0] == "rec" and len(parts[1]) == 32 and len(parts[2]) == 16:
        return parts[1], parts[2]
    return None


def _first(attributes: dict[str, t.Any], keys: tuple[str, ...]) -> t.Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def _text(value: t.Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _count(value: t.Any) -> int | None:
    """Token counts: integers (a double or a numeric string is tolerated), never negative."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value == value and abs(value) < 2**62:
        return int(value) if value >= 0 else None
    digits = value.strip() if isinstance(value, str) else ""
    # ASCII only: str.isdigit() also takes "²" and "٣", which int() refuses or reads as digits.
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:  # 18 digits < 2**62, as above
        return int(digits)
    return None


def _ms(ns: int) -> int:
    return ns // 1_000_000


def to_row(project_id: str, span: Span, received_ms: int) -> dict[str, t.Any]:
    """The Record row (a dict for insert_many) for one decoded span."""
    attrs, resource = span.attributes, span.resource
    start_ns = span.start_ns or received_ms * 1_000_000
    end_ns = max(span.end_ns or start_ns, start_ns)
    exception = next((e for e in reversed(span.events) if e["name"] == "exception"), None)
    exception_attrs = exception["attributes"] if exception else {}
    is_error = span.status_code == STATUS_ERROR
    # error.type is the semconv name; "_OTHER" is its documented fallback. Every error span and
    # every span that recorded an exception has one, so `error_type IS NOT NULL` finds them all.
    error_type = _text(_first(attrs, ("error.type",)) or exception_attrs.get("exception.type"))
    if error_type is None and is_error:
        error_type = "_OTHER"
    operation = _text(_first(attrs, ("gen_ai.operation.name",)))
    if operation is None:
        operation = OPENINFERENCE_OPERATIONS.get(str(attrs.get("openinference.span.kind", "")).upper())
    tool_name = _text(_first(attrs, TOOL_KEYS))
    model = _text(_first(attrs, MODEL_KEYS))
    unit = _first(attrs, ("loopkit.unit", "unit"))
    if unit not in EXPLICIT_UNITS:
        unit = UNITS_BY_OPERATION.get(operation or "")
        if unit is None:
            unit = "tool_call" if tool_name else "llm_call" if model else None
    session_id = _text(_first(attrs, SESSION_KEYS) or _first(resource, SESSION_KEYS))
    raw = {
        "kind": span.kind,
        "status": {"code": span.status_code, "message": span.status_message},
        "start_time_unix_nano": str(span.start_ns),
        "end_time_unix_nano": str(span.end_ns),
        "attributes": attrs,
        "resource": resource,
        "scope": span.scope,
        "events": [{**e, "time_unix_nano": str(e["time_unix_nano"])} for e in span.events],
        "links": span.links,
        "trace_state": span.trace_state,
        "flags": span.flags,
    }
    return {
        "project": project_id,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "start_ms": _ms(start_ns),
        "end_ms": _ms(end_ns),
        "start_ns": min(start_ns, INT64_MAX),
        "end_ns": min(end_ns, INT64_MAX),
        "duration_ms": (end_ns - start_ns) / 1_000_000,
        "status_code": span.status_code,
        "status_message": span.status_message or None,
        "is_error": is_error,
        "error_type": error_type,
        "exception_message": _text(exception_attrs.get("exception.message")),
        "service": _text(resource.get("service.name")),
        "environment": _text(_first(resource, ENVIRONMENT_KEYS) or _first(attrs, ENVIRONMENT_KEYS)),
        "session_id": session_id,
        "session_key": session_id or span.trace_id,
        "agent": _text(_first(attrs, AGENT_KEYS)),
        "operation": operation,
        "unit": unit,
        "model": model,
        "input_tokens": _count(_first(attrs, INPUT_TOKEN_KEYS)),
        "output_tokens": _count(_first(attrs, OUTPUT_TOKEN_KEYS)),
        "tool_name": tool_name,
        "received_ms": received_ms,
        "raw": json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
    }


def _time(ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)


def to_public(row: t.Any) -> dict[str, t.Any]:
    """A stored record (a Record or a dict with its columns) as the API shows it."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    raw = json.loads(get("raw"))
    status = raw.get("status", {})
    code = get("status_code")
    return {
        "record_id": record_id(get("trace_id"), get("span_id")),
        "trace_id": get("trace_id"),
        "span_id": get("span_id"),
        "parent_span_id": get("parent_span_id") or None,
        "session_id": get("session_id"),
        "name": get("name"),
        "kind": KIND_NAMES[get("kind")] if 0 <= get("kind") < len(KIND_NAMES) else str(get("kind")),
        "start_time": _time(get("start_ns")),
        "end_time": _time(get("end_ns")),
        "duration_ms": get("duration_ms"),
        "status": {"code": STATUS_NAMES[code] if 0 <= code < 3 else str(code),
                   "message": status.get("message") or None},
        "error": bool(get("is_error")),
        "error_type": get("error_type"),
        "exception_message": get("exception_message"),
        "unit": get("unit"),
        "operation": get("operation"),
        "agent": get("agent"),
        "model": get("model"),
        "input_tokens": get("input_tokens"),
        "output_tokens": get("output_tokens"),
        "tool_name": get("tool_name"),
        "service": get("service"),
        "environment": get("environment"),
        "attributes": raw.get("attributes", {}),
        "resource": raw.get("resource", {}),
        "scope": raw.get("scope", {}),
        "events": raw.get("events", []),
        "links": raw.get("links", []),
    }
