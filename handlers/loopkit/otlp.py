"""OTLP/HTTP trace requests, decoded into plain `Span`s: JSON exactly as the OTLP specification
encodes it, and protobuf (opentelemetry-proto's ExportTraceServiceRequest).

JSON follows the proto3 JSON mapping with OTLP's deviations: trace and span ids are
case-insensitive hex (never base64), int64/fixed64 values may be decimal strings or numbers,
unknown fields are ignored. Enums are accepted as integers (what the spec requires senders to
use) and, leniently, as their names ("SPAN_KIND_SERVER", "STATUS_CODE_ERROR").

Any malformed part fails the whole request with an `OtlpError` naming where it is, before
anything is stored: one bad id never half-ingests a batch.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import typing as t
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

INT64 = (-(2**63), 2**63 - 1)
UINT64 = (0, 2**64 - 1)
INT32 = (-(2**31), 2**31 - 1)
UINT32 = (0, 2**32 - 1)
MAX_DEPTH = 32  # nesting of arrayValue/kvlistValue
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII: \d takes any script's digits; used with fullmatch
_HEX = re.compile(r"^[0-9a-fA-F]*$")

SPAN_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
STATUS_ERROR = 2


class OtlpError(ValueError):
    """The request is not a valid OTLP trace export (answered 400, nothing stored)."""


@dataclass
class Span:
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    parent_span_id: str  # "" or 16 lowercase hex
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: dict[str, t.Any]
    resource: dict[str, t.Any]
    scope: dict[str, t.Any]
    events: list[dict[str, t.Any]] = field(default_factory=list)
    links: list[dict[str, t.Any]] = field(default_factory=list)
    trace_state: str = ""
    flags: int = 0


# --------------------------------------------------------------------------- values shared by both


def _finite(value: float) -> float | str:
    """JSON has no NaN or infinities: they are kept as the proto3 JSON strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _check_id(raw: bytes, size: int, where: str, optional: bool = False) -> str:
    if optional and not raw:
        return ""
    if len(raw) != size:
        raise OtlpError(f"{where}: must be {size} bytes ({2 * size} hex characters), got {len(raw)}")
    if not any(raw):
        raise OtlpError(f"{where}: an all-zero id is invalid")
    return raw.hex()


# --------------------------------------------------------------------------- JSON


def _obj(value: t.Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OtlpError(f"{where}: expected an object")
    return value


def _list(value: t.Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpError(f"{where}: expected an array")
    return value


def _str(value: t.Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise OtlpError(f"{where}: expected a string")
    return value


def _int(value: t.Any, where: str, bounds: tuple[int, int] = INT64) -> int:
    """proto3 JSON integers: a number or a decimal string (int64 values usually are strings)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise OtlpError(f"{where}: expected an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        if len(value.strip()) > 64:  # past any bound below, and int() refuses past 4300 digits
            raise OtlpError(f"{where}: {len(value.strip())} digits is out of range")
        number = int(value.strip())
    else:
        raise OtlpError(f"{where}: expected an integer (a number or a decimal string)")
    if not bounds[0] <= number <= bounds[1]:
        raise OtlpError(f"{where}: {number} is out of range")
    return number


def _enum(value: t.Any, names: dict[str, int], where: str) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _int(value, where, INT32)


def _hex_id(value: t.Any, size: int, where: str, optional: bool = False) -> str:
    text = _str(value, where)
    if not _HEX.match(text) or len(text) % 2:
        raise OtlpError(f"{where}: ids are hex strings in OTLP/JSON (not base64)")
    return _check_id(bytes.fromhex(text), size, where, optional)


def _double(value: t.Any, where: str) -> float | str:
    if isinstance(value, bool):
        raise OtlpError(f"{where}: expected a number")
    if isinstance(value, int | float):
        return _finite(float(value))
    if isinstance(value, str):
        try:
            return _finite(float(value))
        except ValueError:
            pass
    raise OtlpError(f"{where}: expected a number")


def _any_json(value: t.Any, where: str, depth: int = 0) -> t.Any:
    """An AnyValue object -> a plain value (bytes stay base64 text)."""
    if depth > MAX_DEPTH:
        raise OtlpError(f"{where}: values nest deeper than {MAX_DEPTH} levels")
    value = _obj(value, where)
    if "stringValue" in value:
        return _str(value["stringValue"], f"{where}.stringValue")
    if "boolValue" in value:
        if not isinstance(value["boolValue"], bool):
            raise OtlpError(f"{where}.boolValue: expected true or false")
        return value["boolValue"]
    if "intValue" in value:
        return _int(value["intValue"], f"{where}.intValue")
    if "doubleValue" in value:
        return _double(value["doubleValue"], f"{where}.doubleValue")
    if "arrayValue" in value:
        items = _list(_obj(value["arrayValue"], f"{where}.arrayValue").get("values"), f"{where}.arrayValue.values")
        return [_any_json(v, f"{where}.arrayValue.values[{i}]", depth + 1) for i, v in enumerate(items)]
    if "kvlistValue" in value:
        pairs = _list(_obj(value["kvlistValue"], f"{where}.kvlistValue").get("values"), f"{where}.kvlistValue.values")
        return _attributes_json(pairs, f"{where}.kvlistValue.values", depth + 1)
    if "bytesValue" in value:
        text = _str(value["bytesValue"], f"{where}.bytesValue")
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise OtlpError(f"{where}.bytesValue: expected base64") from None
        return base64.b64encode(raw).decode("ascii")
    return None  # an empty AnyValue


def _attributes_json(items: t.Any, where: str, depth: int = 0) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {}
    for i, item in enumerate(_list(items, where)):
        pair = _obj(item, f"{where}[{i}]")
        key = pair.get("key")
        if not isinstance(key, str):
            raise OtlpError(f"{where}[{i}].key: expected a string")
        out[key] = _any_json(pair.get("value"), f"{where}[{i}].value", depth)
    return out


def _span_json(raw: t.Any, where: str, resource: dict, scope: dict) -> Span:
    span = _obj(raw, where)
    status = _obj(span.get("status"), f"{where}.status")
    events = []
    for i, event in enumerate(_list(span.get("events"), f"{where}.events")):
        e, at = _obj(event, f"{where}.events[{i}]"), f"{where}.events[{i}]"
        events.append({"name": _str(e.get("name"), f"{at}.name"),
                       "time_unix_nano": _int(e.get("timeUnixNano"), f"{at}.timeUnixNano", UINT64),
                       "attributes": _attributes_json(e.get("attributes"), f"{at}.attributes")})
    links = []
    for i, link in enumerate(_list(span.get("links"), f"{where}.links")):
        ln, at = _obj(link, f"{where}.links[{i}]"), f"{where}.links[{i}]"
        links.append({"trace_id": _hex_id(ln.get("traceId"), 16, f"{at}.traceId"),
                      "span_id": _hex_id(ln.get("spanId"), 8, f"{at}.spanId"),
                      "attributes": _attributes_json(ln.get("attributes"), f"{at}.attributes")})
    return Span(
        trace_id=_hex_id(span.get("traceId"), 16, f"{where}.traceId"),
        span_id=_hex_id(span.get("spanId"), 8, f"{where}.spanId"),
        parent_span_id=_hex_id(span.get("parentSpanId"), 8, f"{where}.parentSpanId", optional=True),
        name=_str(span.get("name"), f"{where}.name"),
        kind=_enum(span.get("kind"), SPAN_KINDS, f"{where}.kind"),
        start_ns=_int(span.get("startTimeUnixNano"), f"{where}.startTimeUnixNano", UINT64),
        end_ns=_int(span.get("endTimeUnixNano"), f"{where}.endTimeUnixNano", UINT64),
        status_code=_enum(status.get("code"), STATUS_CODES, f"{where}.status.code"),
        status_message=_str(status.get("message"), f"{where}.status.message"),
        attributes=_attributes_json(span.get("attributes"), f"{where}.attributes"),
        resource=resource,
        scope=scope,
        events=events,
        links=links,
        trace_state=_str(span.get("traceState"), f"{where}.traceState"),
        flags=_int(span.get("flags"), f"{where}.flags", UINT32),
    )


def decode_json(document: t.Any) -> list[Span]:
    """An ExportTraceServiceRequest in OTLP/JSON (already parsed from text)."""
    spans: list[Span] = []
    request = _obj(document, "body")
    for r, resource_spans in enumerate(_list(request.get("resourceSpans"), "resourceSpans")):
        at = f"resourceSpans[{r}]"
        rs = _obj(resource_spans, at)
        resource = _attributes_json(_obj(rs.get("resource"), f"{at}.resource").get("attributes"),
                                    f"{at}.resource.attributes")
        for s, scope_spans in enumerate(_list(rs.get("scopeSpans"), f"{at}.scopeSpans")):
            sat = f"{at}.scopeSpans[{s}]"
            ss = _obj(scope_spans, sat)
            sc = _obj(ss.get("scope"), f"{sat}.scope")
            scope = {"name": _str(sc.get("name"), f"{sat}.scope.name"),
                     "version": _str(sc.get("version"), f"{sat}.scope.version"),
                     "attributes": _attributes_json(sc.get("attributes"), f"{sat}.scope.attributes")}
            for i, span in enumerate(_list(ss.get("spans"), f"{sat}.spans")):
                spans.append(_span_json(span, f"{sat}.spans[{i}]", resource, scope))
    return spans


# --------------------------------------------------------------------------- protobuf


def _any_pb(value: t.Any, depth: int = 0) -> t.Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        if depth >= MAX_DEPTH:
            raise OtlpError(f"values nest deeper than {MAX_DEPTH} levels")
        return [_any_pb(v, depth + 1) for v in value.array_value.values]
    if which == "kvlist_value":
        if depth >= MAX_DEPTH:
            raise OtlpError(f"values nest deeper than {MAX_DEPTH} levels")
        return _attributes_pb(value.kvlist_value.values, depth + 1)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "double_value":
        return _finite(value.double_value)
    return getattr(value, which)


def _attributes_pb(pairs: t.Iterable[t.Any], depth: int = 0) -> dict[str, t.Any]:
    return {pair.key: _any_pb(pair.value, depth) for pair in pairs}


def decode_protobuf(body: bytes) -> list[Span]:
    """A binary ExportTraceServiceRequest (application/x-protobuf)."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpError(f"body is not a protobuf ExportTraceServiceRequest: {exc}") from None
    spans: list[Span] = []
    for r, rs in enumerate(request.resource_spans):
        resource = _attributes_pb(rs.resource.attributes)
        for s, ss in enumerate(rs.scope_spans):
            scope = {"name": ss.scope.name, "version": ss.scope.version,
                     "attributes": _attributes_pb(ss.scope.attributes)}
            for i, span in enumerate(ss.spans):
                where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                spans.append(Span(
                    trace_id=_check_id(span.trace_id, 16, f"{where}.traceId"),
                    span_id=_check_id(span.span_id, 8, f"{where}.spanId"),
                    parent_span_id=_check_id(span.parent_span_id, 8, f"{where}.parentSpanId", optional=True),
                    name=span.name,
                    kind=span.kind,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    status_code=span.status.code,
                    status_message=span.status.message,
                    attributes=_attributes_pb(span.attributes),
                    resource=resource,
                    scope=scope,
                    events=[{"name": e.name, "time_unix_nano": e.time_unix_nano,
                             "attributes": _attributes_pb(e.attributes)} for e in span.events],
                    links=[{"trace_id": _check_id(ln.trace_id, 16, f"{where}.links[{j}].traceId"),
                            "span_id": _check_id(ln.span_id, 8, f"{where}.links[{j}].spanId"),
                            "attributes": _attributes_pb(ln.attributes)} for j, ln in enumerate(span.links)],
                    trace_state=span.trace_state,
                    flags=span.flags,
                ))
    return spans
