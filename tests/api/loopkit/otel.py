"""Real OpenTelemetry for LoopKit's tests: an instrumented agent workload, and the SDK's own
OTLP encodings of its spans.

`to_json` is the official OTLP/JSON encoder's output (opentelemetry-exporter-otlp-json-common:
hex trace and span ids, int64 as strings, enums as integers), `to_protobuf` the protobuf
exporter's. The e2e programs send with the official exporters themselves
(opentelemetry-exporter-otlp-proto-http and opentelemetry-exporter-otlp-json-http), unmodified.
"""

from __future__ import annotations

import json
import time
import typing as t

from opentelemetry import trace
from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans as encode_json
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode


def to_json(spans: t.Sequence[ReadableSpan]) -> dict:
    """The OTLP/JSON ExportTraceServiceRequest of these spans, as the JSON exporter sends it."""
    return json.loads(encode_json(spans).to_json())


def to_protobuf(spans: t.Sequence[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


# --------------------------------------------------------------------------- the workload


def resource(service: str = "travel-agent", environment: str = "production") -> Resource:
    return Resource.create({"service.name": service, "deployment.environment.name": environment})


def chat(tracer: trace.Tracer, model: str, input_tokens: int, output_tokens: int, *, slow: float = 0.0) -> None:
    with tracer.start_as_current_span(f"chat {model}", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "anthropic")
        span.set_attribute("gen_ai.request.model", model)
        span.set_attribute("gen_ai.response.model", model)
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
        span.set_attribute("gen_ai.response.finish_reasons", ["end_turn"])
        if slow:
            time.sleep(slow)


def tool(tracer: trace.Tracer, name: str, *, fail: str | None = None, arguments: dict | None = None) -> bool:
    """One execute_tool span; `fail` records that exception and sets ERROR status."""
    with tracer.start_as_current_span(f"execute_tool {name}", record_exception=False,
                                      set_status_on_exception=False) as span:
        span.set_attribute("gen_ai.operation.name", "execute_tool")
        span.set_attribute("gen_ai.tool.name", name)
        span.set_attribute("gen_ai.tool.type", "function")
        span.set_attribute("gen_ai.tool.call.id", f"call_{span.get_span_context().span_id:x}")
        if arguments:
            span.set_attribute("gen_ai.tool.call.arguments", json.dumps(arguments))
        if fail:
            span.record_exception(TimeoutError(fail))
            span.set_attribute("error.type", "TimeoutError")
            span.set_status(Status(StatusCode.ERROR, fail))
            return False
        return True


def conversation(tracer: trace.Tracer, conversation_id: str, *, failing: bool, spike: bool = False,
                 slow: float = 0.0) -> None:
    """One user turn of the travel agent: invoke_agent -> chat -> tools -> chat.

    The conversation id sits on the root span only (as many frameworks do); LoopKit must
    propagate it to the whole trace. A failing turn retries search_flights three times,
    every attempt timing out, and the turn ends in error.
    """
    with tracer.start_as_current_span("invoke_agent travel-planner") as root:
        root.set_attribute("gen_ai.operation.name", "invoke_agent")
        root.set_attribute("gen_ai.agent.name", "travel-planner")
        root.set_attribute("gen_ai.conversation.id", conversation_id)
        chat(tracer, "claude-sonnet-4-6", 9000 if spike else 1200, 3000 if spike else 180)
        if failing:
            ok = any(tool(tracer, "search_flights", fail="upstream timeout after 30s",
                          arguments={"from": "SFO", "to": "NRT", "attempt": attempt}) for attempt in range(3))
            if not ok:
                root.set_attribute("error.type", "ToolFailure")
                root.set_status(Status(StatusCode.ERROR, "search_flights failed 3 times"))
                return
        else:
            tool(tracer, "search_flights", arguments={"from": "SFO", "to": "LIS"})
            tool(tracer, "book_hotel", arguments={"city": "Lisbon"})
        chat(tracer, "claude-sonnet-4-6", 1500, 220, slow=slow)


def run_workload(tracer: trace.Tracer, *, good: int = 6, failing: int = 4, prefix: str = "conv") -> list[str]:
    """The seeded failure pattern: `failing` conversations whose flight search keeps timing out,
    and, among the good ones, two token spikes and two slow closing model calls."""
    ids = []
    for i in range(good + failing):
        cid = f"{prefix}-{i:03d}"
        ids.append(cid)
        conversation(tracer, cid, failing=i >= good, spike=i in (1, 3), slow=0.3 if i in (2, 4) else 0.0)
    return ids


def sdk_spans(workload: t.Callable[[trace.Tracer], t.Any], **resource_attrs: str) -> list[ReadableSpan]:
    """Run `workload` under a real TracerProvider; the finished spans, in export order."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=resource(**resource_attrs))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    workload(provider.get_tracer("tests.loopkit", "1.0"))
    provider.shutdown()
    return list(memory.get_finished_spans())
