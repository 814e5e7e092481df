"""pentapi's own ASGI middlewares. The whole stack, in order, is listed in server.app.

* RequestLog   - request id (X-Request-ID), optionally X-Served-By, one log line per request.
* BodyLimit    - refuses bodies over the configured size before anything buffers them.
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
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import BodyTooLarge
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
                scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""),
                status,
                (time.perf_counter() - started) * 1000,
                rid,
            )


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
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
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

    Sits after routing, security and request validation (so those still apply) and just
    before Connexion's context middleware. Synchronous handlers pass through to Flask; requests
    that matched no operation end here as 404.
    """

    def __init__(self, app: ASGIApp, handlers: dict[tuple[str, str], t.Callable]) -> None:
        self.app = app
        self.handlers = handlers  # (api base path, operationId) -> async handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] == "http" and not routing.get("operation_id"):
            # Connexion's router matched no operation. Flask must not guess one: its own URL rules
            # can match paths Starlette's did not (a path parameter holding "%0A"), and its view
            # would then run outside any operation context.
            raise HTTPException(404)
        handler = self.handlers.get((routing.get("api_base_path", ""), routing.get("operation_id")))
        if handler is None:
            await self.app(scope, receive, send)
            return
        response = await handler(Request(scope, receive))
        await response(scope, receive, send)
