"""A local HTTP server speaking Anthropic's Messages API (POST /v1/messages, non-streaming),
driven in tests by the real `anthropic` SDK. It answers with the shape the API documents
and records each request so tests can check what the SDK sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class MessagesStandIn:
    def __init__(
        self,
        reply: str = "Here is your launch hook.",
        input_tokens: int = 120,
        output_tokens: int = 40,
        status: int = 200,
        malformed: bool = False,
    ) -> None:
        self.reply, self.input_tokens, self.output_tokens, self.status = (
            reply,
            input_tokens,
            output_tokens,
            status,
        )
        self.malformed = malformed  # answer 200 with a message that lacks content and usage
        self.requests: list[dict] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                standin.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if standin.status != 200:
                    payload = {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": "Overloaded"},
                    }
                elif standin.malformed:
                    payload = {"id": "msg_broken", "type": "message", "role": "assistant"}
                else:
                    payload = {
                        "id": f"msg_{len(standin.requests):04d}",
                        "type": "message",
                        "role": "assistant",
                        "model": body["model"],
                        "content": [{"type": "text", "text": standin.reply}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": standin.input_tokens,
                            "output_tokens": standin.output_tokens,
                        },
                    }
                data = json.dumps(payload).encode()
                self.send_response(standin.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("request-id", f"req_{len(standin.requests)}")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MessagesStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
