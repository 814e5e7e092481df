"""OTLP decoding without a server: the JSON encoding's rules (hex ids, int64 as strings or
numbers, AnyValue, enums, unknown fields) and protobuf, which must decode to the same spans."""

from __future__ import annotations

import base64

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from handlers.loopkit.otlp import OtlpError, decode_json, decode_protobuf
from tests.api.loopkit.otel import run_workload, sdk_spans, to_json, to_protobuf

TRACE = "5B8EFFF798038103D269B633813FC60C"
SPAN = "EEE19B7EC3C1B174"


def export(span: dict, resource_attrs: list | None = None, scope: dict | None = None) -> dict:
    base = {"traceId": TRACE, "spanId": SPAN, "name": "checkout", "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": "1544712661000000000"}
    return {"resourceSpans": [{"resource": {"attributes": resource_attrs or []},
                               "scopeSpans": [{"scope": scope or {"name": "my.library", "version": "1.0.0"},
                                               "spans": [{**base, **span}]}]}]}


def one(span: dict, **kw) -> object:
    (decoded,) = decode_json(export(span, **kw))
    return decoded


def test_the_specification_example_shape_decodes():
    # Shaped like opentelemetry-proto's examples/trace.json: uppercase hex ids, bare numbers.
    decoded = one({
        "parentSpanId": "EEE19B7EC3C1B173", "kind": 2, "startTimeUnixNano": 1544712660000000000,
        "endTimeUnixNano": 1544712661000000000,
        "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}],
    }, resource_attrs=[{"key": "service.name", "value": {"stringValue": "my.service"}}],
        scope={"name": "my.library", "version": "1.0.0",
               "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]})
    assert decoded.trace_id == TRACE.lower() and decoded.span_id == SPAN.lower()
    assert decoded.parent_span_id == "eee19b7ec3c1b173"
    assert decoded.kind == 2 and decoded.start_ns == 1544712660000000000 and decoded.end_ns == 1544712661000000000
    assert decoded.attributes == {"my.span.attr": "some value"}
    assert decoded.resource == {"service.name": "my.service"}
    assert decoded.scope == {"name": "my.library", "version": "1.0.0",
                             "attributes": {"my.scope.attribute": "some scope attribute"}}


def test_every_any_value_kind():
    attrs = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "b", "value": {"boolValue": True}},
        {"key": "i_str", "value": {"intValue": "-9223372036854775808"}},
        {"key": "i_num", "value": {"intValue": 42}},
        {"key": "d", "value": {"doubleValue": 1.5}},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "inf", "value": {"doubleValue": "-Infinity"}},
        {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}},
        {"key": "kv", "value": {"kvlistValue": {"values": [
            {"key": "nested", "value": {"arrayValue": {"values": [{"boolValue": False}]}}}]}}},
        {"key": "bytes", "value": {"bytesValue": base64.b64encode(b"\x00\xffhi").decode()}},
        {"key": "empty", "value": {}},
    ]
    decoded = one({"attributes": attrs})
    assert decoded.attributes == {
        "s": "x", "b": True, "i_str": -(2**63), "i_num": 42, "d": 1.5, "nan": "NaN", "inf": "-Infinity",
        "arr": ["a", 2], "kv": {"nested": [False]}, "bytes": base64.b64encode(b"\x00\xffhi").decode(), "empty": None,
    }


def test_enums_as_integers_or_names_and_status():
    decoded = one({"kind": "SPAN_KIND_CLIENT", "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}})
    assert decoded.kind == 3 and decoded.status_code == 2 and decoded.status_message == "boom"
    decoded = one({"kind": 5, "status": {"code": 1}})
    assert decoded.kind == 5 and decoded.status_code == 1


def test_unknown_fields_are_ignored_and_defaults_apply():
    decoded = one({"droppedAttributesCount": 3, "somethingNew": {"x": 1}, "dropped_attributes_count": 1})
    assert decoded.kind == 0 and decoded.status_code == 0 and decoded.parent_span_id == ""
    assert decode_json({"resourceSpans": []}) == []
    assert decode_json({"resourceSpans": [{}]}) == []


def test_events_and_links():
    decoded = one({
        "events": [{"timeUnixNano": "1544712660500000000", "name": "exception", "attributes": [
            {"key": "exception.type", "value": {"stringValue": "TimeoutError"}}]}],
        "links": [{"traceId": "0" * 31 + "1", "spanId": "0" * 15 + "2"}],
    })
    assert decoded.events == [{"name": "exception", "time_unix_nano": 1544712660500000000,
                               "attributes": {"exception.type": "TimeoutError"}}]
    assert decoded.links == [{"trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "2", "attributes": {}}]


@pytest.mark.parametrize(("span", "where"), [
    ({"traceId": base64.b64encode(bytes.fromhex(TRACE)).decode()}, "traceId: ids are hex"),
    ({"traceId": "abc"}, "traceId: ids are hex"),
    ({"traceId": "ab" * 8}, "traceId: must be 16 bytes"),
    ({"traceId": "0" * 32}, "traceId: an all-zero id"),
    ({"traceId": None}, "traceId: must be 16 bytes"),
    ({"spanId": "zz" * 8}, "spanId: ids are hex"),
    ({"parentSpanId": "ab"}, "parentSpanId: must be 8 bytes"),
    ({"startTimeUnixNano": "1.5"}, "startTimeUnixNano: expected an integer"),
    ({"startTimeUnixNano": "-1"}, "startTimeUnixNano: -1 is out of range"),
    ({"endTimeUnixNano": str(2**64)}, "endTimeUnixNano: 18446744073709551616 is out of range"),
    ({"kind": "SERVER"}, "kind: expected an integer"),
    ({"kind": True}, "kind: expected an integer"),
    ({"attributes": {"k": "v"}}, "attributes: expected an array"),
    ({"attributes": [{"key": 1, "value": {}}]}, "attributes[0].key: expected a string"),
    ({"attributes": [{"key": "i", "value": {"intValue": "9223372036854775808"}}]}, "intValue: 9223372036854775808"),
    ({"attributes": [{"key": "b", "value": {"boolValue": "true"}}]}, "boolValue: expected true or false"),
    ({"attributes": [{"key": "x", "value": {"bytesValue": "%%%"}}]}, "bytesValue: expected base64"),
    ({"status": {"code": "BROKEN"}}, "status.code: expected an integer"),
    ({"name": 7}, "name: expected a string"),
])
def test_malformed_spans_name_the_place(span, where):
    with pytest.raises(OtlpError) as caught:
        decode_json(export(span))
    assert where in str(caught.value)
    assert "resourceSpans[0].scopeSpans[0].spans[0]" in str(caught.value)


def test_malformed_envelopes():
    for body, where in [
        ({"resourceSpans": {}}, "resourceSpans: expected an array"),
        ({"resourceSpans": [1]}, "resourceSpans[0]: expected an object"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [3]}]}]}, "spans[0]: expected an object"),
        ({"resourceSpans": [{"resource": {"attributes": "x"}}]}, "resource.attributes: expected an array"),
    ]:
        with pytest.raises(OtlpError, match=where.replace("[", r"\[").replace("]", r"\]")):
            decode_json(body)


def test_deep_nesting_is_refused():
    value: dict = {"stringValue": "leaf"}
    for _ in range(40):
        value = {"arrayValue": {"values": [value]}}
    with pytest.raises(OtlpError, match="nest deeper"):
        decode_json(export({"attributes": [{"key": "deep", "value": value}]}))


def test_protobuf_and_json_of_the_same_sdk_spans_decode_identically():
    spans = sdk_spans(lambda tracer: run_workload(tracer, good=2, failing=1))
    from_json = decode_json(to_json(spans))
    from_protobuf = decode_protobuf(to_protobuf(spans))
    assert len(from_json) == len(spans) == len(from_protobuf)
    assert from_json == from_protobuf
    assert {s.span_id for s in from_json} == {format(s.context.span_id, "016x") for s in spans}


def test_protobuf_errors():
    with pytest.raises(OtlpError, match="not a protobuf ExportTraceServiceRequest"):
        decode_protobuf(b"\xff\xff\xff")
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = b"\x01" * 16
    span.span_id = b"\x01" * 4
    with pytest.raises(OtlpError, match=r"spans\[0\].spanId: must be 8 bytes"):
        decode_protobuf(request.SerializeToString())
    assert decode_protobuf(b"") == []
