"""loopkit: POST /v1/traces, OTLP/HTTP trace ingest with the producer key.

JSON (`application/json`, OTLP's JSON encoding) or protobuf (`application/x-protobuf`); a
gzip or deflate `Content-Encoding` is undone by the server before this runs. The answer is
OTLP's ExportTraceServiceResponse in the request's encoding, with `partialSuccess` when the
project's quota refused spans, and 202 as the spec documents (an OTLP exporter takes any 2xx
as success). A malformed export answers 400 and stores nothing.
"""

from __future__ import annotations

import flask
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from generated.loopkit.models import PartialSuccess, TraceExportResponse
from handlers.loopkit import access, ingest, otlp
from server.errors import ApiError

PROTOBUF = "application/x-protobuf"


def post_traces(body=None):
    caller = access.principal()
    is_protobuf = flask.request.mimetype == PROTOBUF
    try:
        spans = otlp.decode_protobuf(flask.request.get_data()) if is_protobuf else otlp.decode_json(body)
    except otlp.OtlpError as exc:
        raise ApiError(400, "invalid_otlp", f"invalid OTLP trace export: {exc}") from None
    stored = ingest.store(caller["project_id"], spans)
    message = (f"quota_spans exhausted: {stored.rejected} span(s) not stored; upgrade or contact the operator"
               if stored.rejected else "")
    if is_protobuf:
        answer = ExportTraceServiceResponse()
        if stored.rejected:
            answer.partial_success.rejected_spans = stored.rejected
            answer.partial_success.error_message = message
        return flask.Response(answer.SerializeToString(), status=202, mimetype=PROTOBUF)
    result = TraceExportResponse(
        ok=True,
        project_id=caller["project_id"],
        accepted_spans=stored.accepted,
        duplicate_spans=stored.duplicates,
        rejected_spans=stored.rejected,
        partialSuccess=None,
    )
    if stored.rejected:
        result.partialSuccess = PartialSuccess(rejectedSpans=str(stored.rejected), errorMessage=message)
    return result.model_dump(mode="json", exclude_none=True), 202, {"Content-Type": "application/json"}
