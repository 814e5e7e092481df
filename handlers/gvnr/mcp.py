"""gvnr: POST /mcp, the MCP endpoint (Streamable HTTP, JSON-RPC 2.0, stateless, JSON answers).

Methods: `initialize`, `ping`, `tools/list`, `tools/call` (the tools: handlers/gvnr/mcp_tools.py).
Authentication is the REST one (Bearer header or `?api_key=`, checked by the security
middleware before this handler runs). Transport rules (MCP 2025-06-18 / 2025-11-25):

* a notification or a response from the client is accepted with 202 and no body;
* a request gets `application/json` with its JSON-RPC response (errors included);
* an unsupported `MCP-Protocol-Version` header, a body that is not one JSON-RPC message,
  or an `Origin` other than this server's (or one listed in GVNR_MCP_ALLOWED_ORIGINS) is
  refused with a 4xx in Gvnr's error envelope;
* there is no server-initiated stream: GET /mcp answers 405 (the spec has POST only).
"""

from __future__ import annotations

import inspect
import json
import typing as t
from urllib.parse import urlsplit

import anyio
import mcp_types as mt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from handlers.gvnr import inputs
from handlers.gvnr.keys import account_of
from handlers.gvnr.mcp_tools import ToolCall, by_name
from server import envelopes
from server.apis import APIS
from server.errors import ApiError, classify
from server.settings import current

# Revisions with the initialize handshake; the newest is offered when the client's is unknown.
PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
DEFAULT_HEADER_VERSION = "2025-03-26"  # what the transport says to assume without the header


async def post_mcp(request: Request) -> Response:
    _check_origin(request)
    version = request.headers.get("mcp-protocol-version")
    if version is not None and version not in PROTOCOL_VERSIONS:
        raise ApiError(400, "unsupported_protocol_version", f"MCP-Protocol-Version {version!r} is not supported",
                       valid=list(PROTOCOL_VERSIONS), retryable=False)
    try:
        message = json.loads(await request.body())
    except ValueError:
        raise ApiError(400, "invalid_json", "the body must be one JSON-RPC 2.0 message", retryable=False) from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise ApiError(400, "invalid_request", "the body must be one JSON-RPC 2.0 message (batches are not "
                       "supported)", retryable=False)
    if "method" not in message:  # a response to a server request: this server sends none
        return Response(status_code=202)
    if "id" not in message:  # a notification (notifications/initialized, cancelled, ...)
        return Response(status_code=202)
    request_id = message["id"]
    if isinstance(request_id, bool) or not isinstance(request_id, str | int) or not isinstance(message["method"], str):
        raise ApiError(400, "invalid_request", "a JSON-RPC request needs a string or integer id and a method",
                       retryable=False)
    params = message.get("params")
    if params is None:  # left out (or null): no parameters
        params = {}
    if not isinstance(params, dict):
        return _error(request_id, mt.INVALID_PARAMS, "params must be an object")
    method = message["method"]
    if method == "initialize":
        return _result(request_id, _initialize(params))
    if method == "ping":
        return _result(request_id, {})
    if method == "tools/list":
        return _result(request_id, _list_tools())
    if method == "tools/call":
        return await _call_tool(request, request_id, params)
    return _error(request_id, mt.METHOD_NOT_FOUND, f"Method not found: {method}")


def _check_origin(request: Request) -> None:
    """Browsers send Origin: refuse pages of other sites (DNS-rebinding, cross-site calls)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = {o.strip().rstrip("/") for o in current().gvnr_mcp_allowed_origins.split(",") if o.strip()}
    if origin.rstrip("/") in allowed or urlsplit(origin).netloc == request.headers.get("host"):
        return
    raise ApiError(403, "forbidden_origin", f"Origin {origin} may not call this MCP endpoint", retryable=False)


def _initialize(params: dict[str, t.Any]) -> dict[str, t.Any]:
    asked = params.get("protocolVersion")
    info = APIS["gvnr"].document["info"]
    result = mt.InitializeResult(
        protocol_version=asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[-1],
        capabilities=mt.ServerCapabilities(tools=mt.ToolsCapability(list_changed=False)),
        server_info=mt.Implementation(name="gvnr", version=info["version"]),
        instructions="Call budget_clear before every LLM call and reconcile after it; rate_check before "
                     "rate-limited provider calls; idempotency_check to dedupe retries.",
    )
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _list_tools() -> dict[str, t.Any]:
    tools = [
        mt.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema(),
                output_schema=tool.output_schema(),
                annotations=mt.ToolAnnotations(read_only_hint=tool.read_only, idempotent_hint=tool.idempotent,
                                               destructive_hint=False, open_world_hint=False))
        for tool in by_name().values()
    ]
    return mt.ListToolsResult(tools=tools).model_dump(by_alias=True, mode="json", exclude_none=True)


async def _call_tool(request: Request, request_id: str | int, params: dict[str, t.Any]) -> Response:
    name = params.get("name")
    if not isinstance(name, str):
        return _error(request_id, mt.INVALID_PARAMS, "params.name must be the tool's name (a string)")
    tool = by_name().get(name)
    if tool is None:
        return _error(request_id, mt.INVALID_PARAMS, f"Unknown tool: {name}")
    arguments = params.get("arguments")
    if arguments is None:  # a tool without inputs may be called without arguments
        arguments = {}
    if not isinstance(arguments, dict):
        return _error(request_id, mt.INVALID_PARAMS, "params.arguments must be an object")
    try:
        call = ToolCall(account_of(request.scope), inputs.check(tool.operation_id, arguments), _base_url(request))
        if inspect.iscoroutinefunction(tool.run):
            body = await tool.run(call)
        else:
            body = await anyio.to_thread.run_sync(tool.run, call)
            if inspect.isawaitable(body):
                body = await body
    except Exception as exc:  # noqa: BLE001 - rendered exactly as the REST door renders it
        failure = classify(exc)
        if failure.status >= 500:
            raise
        failure.operation = tool.operation_id
        _, error_body, _ = envelopes.gvnr(failure)
        return _result(request_id, _tool_result(error_body, is_error=True))
    return _result(request_id, _tool_result(body, is_error=False))


def _tool_result(body: dict[str, t.Any], *, is_error: bool) -> dict[str, t.Any]:
    result = mt.CallToolResult(content=[mt.TextContent(type="text", text=json.dumps(body))],
                               structured_content=None if is_error else body, is_error=is_error)
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _base_url(request: Request) -> str:
    """Where the client reached Gvnr: PENTAPI_PUBLIC_URL, else this request's URL minus /mcp."""
    public = current().public_url.rstrip("/")
    mount = request.url.path.removesuffix("/mcp")
    return (public or f"{request.url.scheme}://{request.url.netloc}") + mount


def _result(request_id: str | int, result: dict[str, t.Any]) -> Response:
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result})


def _error(request_id: str | int, code: int, message: str) -> Response:
    return JSONResponse({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})
