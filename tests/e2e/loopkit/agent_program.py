"""A real instrumented program: the OpenTelemetry SDK (TracerProvider, a Batch or Simple span
processor, the OTLP/HTTP exporter) configured the way a deployment configures it, through the
standard OTEL_EXPORTER_OTLP_TRACES_* environment variables, running the travel-agent workload.

    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:8000/loopkit/v1/traces \\
    OTEL_EXPORTER_OTLP_TRACES_HEADERS="Authorization=Bearer%20lk_ingest_..." \\
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip \\
    python -m tests.e2e.loopkit.agent_program --encoding protobuf --processor batch

It prints one JSON line: spans finished, export calls, and export failures (an exporter only
logs failures, so a thin delegating wrapper counts them).
"""

from __future__ import annotations

import argparse
import json
import typing as t

from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as OTLPJsonSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

from tests.api.loopkit.otel import resource, run_workload


class Counting(SpanExporter):
    """Delegates every call to the real exporter, counting spans and failed exports."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner, self.spans, self.exports, self.failures = inner, 0, 0, 0

    def export(self, spans: t.Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.exports += 1
        self.spans += len(spans)
        self.failures += result is not SpanExportResult.SUCCESS
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoding", choices=("protobuf", "json"), default="protobuf")
    parser.add_argument("--processor", choices=("batch", "simple"), default="batch")
    parser.add_argument("--good", type=int, default=6)
    parser.add_argument("--failing", type=int, default=4)
    parser.add_argument("--prefix", default="conv")
    args = parser.parse_args()

    exporter = Counting(OTLPSpanExporter() if args.encoding == "protobuf" else OTLPJsonSpanExporter())
    provider = TracerProvider(resource=resource(service=f"travel-agent-{args.encoding}"))
    if args.processor == "batch":
        # small batches, so one run makes several export requests
        provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=16, schedule_delay_millis=50))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    conversations = run_workload(provider.get_tracer("travel-agent", "2.1.0"), good=args.good, failing=args.failing,
                                 prefix=args.prefix)
    provider.shutdown()  # flushes the batch processor
    print(json.dumps({"conversations": conversations, "spans": exporter.spans, "exports": exporter.exports,
                      "failures": exporter.failures}))


if __name__ == "__main__":
    main()
