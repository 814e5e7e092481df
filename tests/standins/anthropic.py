"""A local HTTP server speaking Anthropic's Messages API (POST /v1/messages), driven in tests
by the real `anthropic` SDK: a JSON message, or with `"stream": true` the documented SSE event
sequence (message_start, content_block_start / _delta / _stop per block, message_delta with
stop_reason and usage, message_stop, and ping). It records every request so tests can check
what the SDK sent.

Replies are scripted: `script` is a list of replies, one per request in order (the last one
repeats), each a list of content blocks:

    {"type": "text", "text": "..."}
    {"type": "thinking", "thinking": "..."}
    {"type": "tool_use", "name": "Calculator", "input": {...}}      (id generated if absent)

Without a script every request gets one text block, `reply`. `status` != 200 answers every
request with Anthropic's error body; `stream_error` sends an in-stream `error` event instead
of ending a streamed reply; `malformed` answers 200 with a message lacking content and usage;
`hold` (a threading.Event) keeps every request waiting until it is set, as a slow model does.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_CHUNK = re.compile(r"\S+\s*|\s+")
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error",
               500: "api_error", 529: "overloaded_error"}


class MessagesStandIn:
    def __init__(
        self,
        reply: str = "Here is your launch hook.",
        input_tokens: int = 120,
        output_tokens: int = 40,
        status: int = 200,
        script: list[list[dict]] | None = None,
        stream_error: str | None = None,
        malformed: bool = False,
        hold: threading.Event | None = None,
    ) -> None:
        self.reply, self.input_tokens, self.output_tokens, self.status = reply, input_tokens, output_tokens, status
        self.script = script
        self.stream_error = stream_error
        self.malformed = malformed  # answer 200 with a (non-streamed) message lacking content and usage
        self.hold = hold
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with standin._lock:
                    standin.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    number = len(standin.requests)
                if standin.hold is not None:
                    standin.hold.wait(timeout=30)  # bounded: a test that forgets to release still ends
                if standin.status != 200:
                    error_type = ERROR_TYPES.get(standin.status, "api_error")
                    message = "Overloaded" if standin.status == 529 else error_type.replace("_", " ")
                    self._json(standin.status, {"type": "error", "error": {"type": error_type, "message": message}})
                    return
                if standin.malformed and not body.get("stream"):
                    self._json(200, {"id": "msg_broken", "type": "message", "role": "assistant"})
                    return
                blocks = standin._blocks(number)
                if body.get("stream"):
                    self._stream(number, body["model"], blocks)
                else:
                    self._json(200, standin._message(number, body["model"], blocks))

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("request-id", f"req_{len(standin.requests)}")
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, number: int, model: str, blocks: list[dict]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("request-id", f"req_{number}")
                self.end_headers()
                for name, payload in standin._events(number, model, blocks):
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())
                    self.wfile.flush()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ replies

    def _blocks(self, number: int) -> list[dict]:
        if not self.script:
            return [{"type": "text", "text": self.reply}]
        blocks = [dict(b) for b in self.script[min(number, len(self.script)) - 1]]
        for i, block in enumerate(blocks):
            if block["type"] == "tool_use":
                block.setdefault("id", f"toolu_{number:02d}{i:02d}standin0000000000")
        return blocks

    def _message(self, number: int, model: str, blocks: list[dict]) -> dict:
        content = []
        for block in blocks:
            if block["type"] == "thinking":
                content.append({"type": "thinking", "thinking": block["thinking"], "signature": f"sig{number}"})
            else:
                content.append(block)
        return {
            "id": f"msg_{number:04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": _stop_reason(blocks),
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
        }

    def _events(self, number: int, model: str, blocks: list[dict]):
        start = self._message(number, model, [])
        start.update(stop_reason=None, usage={"input_tokens": self.input_tokens, "output_tokens": 1})
        yield "message_start", {"type": "message_start", "message": start}
        yield "ping", {"type": "ping"}
        for index, block in enumerate(blocks):
            kind = block["type"]
            if kind == "text":
                opening, deltas = {"type": "text", "text": ""}, [
                    {"type": "text_delta", "text": chunk} for chunk in _CHUNK.findall(block["text"])]
            elif kind == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [{"type": "thinking_delta", "thinking": c} for c in _CHUNK.findall(block["thinking"])]
                deltas.append({"type": "signature_delta", "signature": f"sig{number}"})
            else:  # tool_use: the input arrives as partial JSON strings
                opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                raw = json.dumps(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": raw[i:i + 7]} for i in range(0, len(raw), 7)]
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
            for delta in deltas:
                yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
        if self.stream_error:
            yield "error", {"type": "error", "error": {"type": "overloaded_error", "message": self.stream_error}}
            return
        yield "message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": _stop_reason(blocks), "stop_sequence": None},
                                "usage": {"output_tokens": self.output_tokens}}
        yield "message_stop", {"type": "message_stop"}

    # ------------------------------------------------------------------ life

    def __enter__(self) -> MessagesStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def _stop_reason(blocks: list[dict]) -> str:
    return "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
