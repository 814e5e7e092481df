"""pentapi's own ASGI middlewares. The whole stack, in order, is listed in server.app.

* RequestLog   - request id (X-Request-ID), optionally X-Served-By, one log line per request.
* BodyLimit    - refuses bodies over the configured size before anything buffers them.
* ContentDecoding - undoes a gzip or deflate Content-Encoding of a request body (OTLP
                 exporters compress), bounded by the same size limit.
* Site         - /healthz, each API's document and docs UI, static assets.
* NativeAsync  - runs `async def` handlers (SSE streams) on the event loop, so a long-lived
                 stream never occupies one of the worker's WSGI handler threads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import typing as t
import uuid
import zlib
from pathlib import Path

from connexion.exceptions import UnsupportedMediaTypeProblem
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import BodyTooLarge
from server.oas31 import MalformedBodyProblem
from storage import db

access_log = logging.getLogger("pentapi.access")
STATIC = Path(__file__).resolve().parent / "static"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(scope: Scope) -> str:
    return scope.get("state", {}).get("request_id", "-")


class RequestLog:
    def __init__(self, app: ASGIApp, served_by: bool = False) -> None:
        self.app = app
        # X-Served-By: <pid> names the worker process that answered (diagnostics, e2e tests)
        self.extra = [(b"x-served-by", str(os.getpid()).encode())] if served_by else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode()), *self.extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                '%s %s %s %d %.1fms rid=%s',
                scope.get("client", ("-",))[0],
                scope["method"],
                _logged_target(scope),
                status,
                (time.perf_counter() - started) * 1000,
                rid,
            )


def _logged_target(scope: Scope) -> str:
    """The request target as sent (still percent-encoded), so a decoded %0A in a path can never
    forge a second log line; control characters are escaped when there is no raw path."""
    raw = scope.get("raw_path")
    target = raw.decode("latin-1") if raw else scope["path"].encode("unicode_escape").decode("ascii")
    query = scope.get("query_string", b"").decode("latin-1")
    return target + ("?" + query if query else "")


class BodyLimit:
    """Rejects a declared Content-Length over the limit at once, and a streamed body as soon as
    it crosses the limit, raising BodyTooLarge for the exception middleware to render."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        # More digits than the limit has is over it, unread: int() refuses over 4300 digits.
        digits = declared.lstrip(b"0") or b"0"
        if declared.isdigit() and (len(digits) > len(str(self.max_bytes)) or int(digits) > self.max_bytes):
            raise BodyTooLarge(self.max_bytes)
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


class ContentDecoding:
    """Decompresses a request body sent with `Content-Encoding: gzip` (or `x-gzip`, `deflate`)
    before validation and handlers see it; `identity` or no header passes through.

    The body (already bounded by BodyLimit) is read whole, inflated at most `max_bytes` far -
    a larger result is refused as too large, so a small "zip bomb" never expands in memory -
    and replayed downstream with the encoding header removed and Content-Length corrected.
    A corrupt or truncated stream is a malformed body; other encodings are unsupported.
    """

    WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope.get("headers", []) if scope["type"] == "http" else []
        encoding = next((v for k, v in headers if k == b"content-encoding"), b"").decode("latin-1").strip().lower()
        if encoding in ("", "identity"):
            await self.app(scope, receive, send)
            return
        if encoding not in self.WBITS:
            raise UnsupportedMediaTypeProblem(
                detail=f"Content-Encoding {encoding!r} is not supported (use gzip or deflate)")
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = self.inflate(b"".join(chunks), self.WBITS[encoding], encoding)
        kept = [(k, v) for k, v in headers if k not in (b"content-encoding", b"content-length")]
        scope = {**scope, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def inflate(self, data: bytes, wbits: int, encoding: str) -> bytes:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, self.max_bytes + 1)
            if len(out) > self.max_bytes or inflater.unconsumed_tail:
                raise BodyTooLarge(self.max_bytes)
            out += inflater.flush()
        except zlib.error as exc:
            raise MalformedBodyProblem(detail=f"Request body is not valid {encoding}: {exc}") from None
        if len(out) > self.max_bytes:
            raise BodyTooLarge(self.max_bytes)
        if data and not inflater.eof:
            raise MalformedBodyProblem(detail=f"Request body is a truncated {encoding} stream")
        return out


class Site:
    """Routes that belong to the server rather than to an API's spec."""

    def __init__(self, app: ASGIApp, mounts: dict[str, dict], combined: bool) -> None:
        self.app = app
        self.mounts = mounts  # base path -> {"name", "document"}
        self.combined = combined

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            response = self.route(scope["path"])
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def route(self, path: str) -> Response | None:
        if path == "/healthz":
            ok = db.ping()
            return JSONResponse(
                {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable"},
                status_code=200 if ok else 503,
            )
        if path.startswith("/_static/"):
            target = (STATIC / path.removeprefix("/_static/")).resolve()
            if STATIC in target.parents and target.is_file():
                return FileResponse(target, headers={"Cache-Control": "public, max-age=86400"})
            return None
        if path == "/" and self.combined:
            return JSONResponse(
                {
                    "service": "pentapi",
                    "apis": {
                        m["name"]: {"base_path": base, "openapi": f"{base}/openapi.json", "docs": f"{base}/docs"}
                        for base, m in self.mounts.items()
                    },
                }
            )
        for base, mount in self.mounts.items():
            if path == f"{base}/openapi.json":
                document = served_document(mount["document"], base, mount.get("prefix", ""))
                return Response(document, media_type="application/json")
            if path in (f"{base}/docs", f"{base}/docs/"):
                return HTMLResponse(docs_page(mount["document"]["info"]["title"], f"{base}/openapi.json"))
        return None


def served_document(document: dict, base_path: str, prefix: str = "") -> bytes:
    """The spec as written, with `servers` pointing at where this server mounts it (path-level
    `servers` too: they move under the same `prefix` as the whole API, see ApiDef.mounts)."""
    paths = {
        path: {**item, "servers": [_moved(s, prefix) for s in item["servers"]]}
        if isinstance(item, dict) and item.get("servers") else item
        for path, item in document.get("paths", {}).items()
    }
    served = {**document, "servers": [{"url": base_path or "/"}], "paths": paths}
    return json.dumps(served, ensure_ascii=False).encode()


def _moved(server: dict, prefix: str) -> dict:
    url = server.get("url", "")
    return {**server, "url": prefix + url} if url.startswith("/") else server


def docs_page(title: str, spec_url: str) -> str:
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{safe_title} - docs</title>
<link rel="icon" href="/_static/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/_static/swagger-ui/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/_static/swagger-ui/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: {json.dumps(spec_url)}, dom_id: "#docs", deepLinking: true}});</script>
</body></html>"""


class NativeAsync:
    """Calls `async def` handlers directly: `await handler(request) -> Response`.

    Sits after routing, security, request validation and Connexion's context middleware (so
    all of those still apply and `connexion.context` holds the principal), just before Flask.
    Synchronous handlers pass through to Flask.
    """

    def __init__(self, app: ASGIApp, handlers: dict[tuple[str, str], t.Callable]) -> None:
        self.app = app
        self.handlers = handlers  # (api base path, operationId) -> async handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if routing and routing.get("operation_id") is None:
            # Under an API's mount but no operation matched: Flask's own router might still
            # match it and run a handler outside Connexion's security, validation and context.
            raise HTTPException(404)
        handler = self.handlers.get((routing.get("api_base_path", ""), routing.get("operation_id")))
        if handler is None:
            await self.app(scope, receive, send)
            return
        response = await handler(Request(scope, receive))
        await response(scope, receive, send)
