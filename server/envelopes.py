"""Each API's error envelope, exactly as its spec (and its public service) shapes errors.

`render(api, failure)` returns (status, body, headers). Wrong content type and oversized bodies
answer with the API's validation status (what the specs document) rather than 413/415.
"""

from __future__ import annotations

import re
import typing as t

from server import errors as E
from server.errors import Failure
from server.oas31 import Violation

Rendered = tuple[int, dict, dict[str, str]]


def _status(failure: Failure, validation_status: int) -> int:
    if failure.kind in (E.VALIDATION, E.MALFORMED, E.TOO_LARGE, E.MEDIA_TYPE):
        return validation_status
    return failure.status


def _required_fields(failure: Failure) -> list[str]:
    return [
        v.message.split("'")[1]
        for v in failure.violations
        if v.keyword == "required" and v.message.count("'") >= 2
    ]


# ------------------------------------------------------------------ Loup: {"error", "code"}

_LOUP_CODES = {
    E.VALIDATION: "BAD_REQUEST",
    E.MALFORMED: "INVALID_JSON",
    E.TOO_LARGE: "PAYLOAD_TOO_LARGE",
    E.MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
    E.UNAUTHENTICATED: "UNAUTHORIZED",
    E.FORBIDDEN: "FORBIDDEN",
    E.NOT_FOUND: "NOT_FOUND",
    E.METHOD: "METHOD_NOT_ALLOWED",
    E.INTERNAL: "INTERNAL_ERROR",
}


def loup(failure: Failure) -> Rendered:
    body = {"error": failure.message, "code": failure.code or _LOUP_CODES[failure.kind]}
    body.update(failure.extra)
    return _status(failure, 400), body, failure.headers


# ------------------------------------------------------------------ LoopKit: {"error", "code"}

_SNAKE_CODES = {
    E.VALIDATION: "invalid_request",
    E.MALFORMED: "invalid_json",
    E.TOO_LARGE: "payload_too_large",
    E.MEDIA_TYPE: "unsupported_media_type",
    E.UNAUTHENTICATED: "unauthorized",
    E.FORBIDDEN: "forbidden",
    E.NOT_FOUND: "not_found",
    E.METHOD: "method_not_allowed",
    E.INTERNAL: "internal_error",
}


def loopkit(failure: Failure) -> Rendered:
    body = {"error": failure.message, "code": failure.code or _SNAKE_CODES[failure.kind]}
    body.update(failure.extra)
    return _status(failure, 400), body, failure.headers


# ------------------------------------------------------------------ loopat: {"error": {type, code, message}}

_LOOPAT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    429: "rate_limit_error",
}
_LOOPAT_CODES = {
    **_SNAKE_CODES,
    E.UNAUTHENTICATED: "missing_credentials",
    E.TOO_LARGE: "content_too_large",
    E.NOT_FOUND: "route_not_found",
}


# Upstream's own codes for limits the spec states as schema keywords (api-v1.ts): the validator
# finds them, the envelope names them as upstream does.
_LOOPAT_VIOLATIONS = {
    ("body", ("title",), "maxLength"): "title_too_long",
    ("body", ("content",), "maxLength"): "content_too_large",
    ("body", ("content",), "minLength"): "missing_content",
    ("header", ("Idempotency-Key",), "maxLength"): "idempotency_key_too_long",
}


def _loopat_code(failure: Failure) -> str:
    if failure.code:
        return failure.code
    if failure.kind == E.VALIDATION and failure.violations:
        first = failure.violations[0]
        if failure.operation == "postLoopsByIdChoicesByChoiceId" and first.location == "body":
            return "invalid_choice_payload"
        if first.location == "body" and "content" in _required_fields(failure):
            return "missing_content"
        if code := _LOOPAT_VIOLATIONS.get((first.location, first.path, first.keyword)):
            return code
    return _LOOPAT_CODES[failure.kind]


def loopat(failure: Failure) -> Rendered:
    status = _status(failure, 400)
    error = {
        "type": _LOOPAT_TYPES.get(status, "internal_error" if status >= 500 else "invalid_request_error"),
        "code": _loopat_code(failure),
        "message": failure.message,
    }
    return status, {"error": error}, failure.headers


# ------------------------------------------------------------------ Lithtrix: FastAPI 422 + search envelope

_LITHTRIX_CODES = {
    E.UNAUTHENTICATED: "INVALID_API_KEY",
    E.FORBIDDEN: "FORBIDDEN",
    E.INTERNAL: "INTERNAL_ERROR",
}
_ATTRIBUTES = "Input should be a valid dictionary or object to extract fields from"


def lithtrix(failure: Failure) -> Rendered:
    if failure.kind in (E.VALIDATION, E.MALFORMED):
        return 422, {"detail": _fastapi_detail(failure)}, failure.headers
    if failure.kind == E.MEDIA_TYPE:
        # FastAPI reads a non-JSON body as bytes, which the body model then refuses.
        return 422, {"detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": _ATTRIBUTES}]}, {}
    if failure.kind == E.TOO_LARGE:
        return 422, {"detail": [{"type": "value_error", "loc": ["body"], "msg": failure.message}]}, {}
    if failure.kind in (E.NOT_FOUND, E.METHOD):
        # FastAPI's own answers for routing errors.
        text = "Not Found" if failure.kind == E.NOT_FOUND else "Method Not Allowed"
        return failure.status, {"detail": text}, failure.headers
    body = {
        "status": "error",
        "error_code": failure.code or _LITHTRIX_CODES.get(failure.kind, "ERROR"),
        "message": failure.message,
    }
    body.update(failure.extra)
    return failure.status, body, failure.headers


def _fastapi_detail(failure: Failure) -> list[dict[str, t.Any]]:
    """FastAPI's RequestValidationError body: pydantic v2's type, loc, msg, input and ctx."""
    if not failure.violations:
        return [{"type": "value_error", "loc": ["body"], "msg": failure.message, "input": None}]
    errors = [_fastapi_error(v) for v in failure.violations]
    # pydantic reports a body's fields in order (jsonschema puts the object's own errors,
    # such as missing fields, first); parameters keep their declaration order.
    return sorted(errors, key=lambda e: [str(p) for p in e["loc"]] if e["loc"][0] == "body" else [])


def _fastapi_error(v: Violation) -> dict[str, t.Any]:
    loc: list[t.Any] = [v.location, *v.path]
    value = v.instance
    if v.location != "body" and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # FastAPI reports parameters as the raw strings it received
    kind, msg, ctx = "value_error", v.message, None
    if v.keyword == "json_invalid":
        kind, msg, value, ctx = "json_invalid", "JSON decode error", {}, {"error": v.message}
    elif v.keyword == "required":
        kind, msg = "missing", "Field required"
        missing = re.match(r"^'(.*)' is a required property$", v.message)
        if missing:
            loc.append(missing.group(1))  # pydantic reports the missing field, input = its parent
        else:
            value = None
    elif v.keyword == "type":
        kind, msg = _type_error(v, value)
    elif v.keyword in _BOUNDS:
        kind, word, key = _BOUNDS[v.keyword]
        msg, ctx = f"Input should be {word} {v.expected}", {key: v.expected}
    elif v.keyword in ("minLength", "maxLength"):
        least = v.keyword == "minLength"
        kind = "string_too_short" if least else "string_too_long"
        plural = "" if v.expected == 1 else "s"
        msg = f"String should have {'at least' if least else 'at most'} {v.expected} character{plural}"
        ctx = {"min_length" if least else "max_length": v.expected}
    elif v.keyword == "pattern":
        kind, ctx = "string_pattern_mismatch", {"pattern": v.expected}
        msg = f"String should match pattern '{v.expected}'"
    elif v.keyword in ("enum", "const"):
        options = v.expected if v.keyword == "enum" else [v.expected]
        expected = _or_list([repr(o) for o in options])
        kind = "enum" if v.keyword == "enum" else "literal_error"
        msg, ctx = f"Input should be {expected}", {"expected": expected}
    elif v.keyword == "additionalProperties":
        kind, msg = "extra_forbidden", "Extra inputs are not permitted"
    error: dict[str, t.Any] = {"type": kind, "loc": loc, "msg": msg, "input": value}
    if ctx is not None:
        error["ctx"] = ctx
    return error


_BOUNDS = {
    "minimum": ("greater_than_equal", "greater than or equal to", "ge"),
    "maximum": ("less_than_equal", "less than or equal to", "le"),
    "exclusiveMinimum": ("greater_than", "greater than", "gt"),
    "exclusiveMaximum": ("less_than", "less than", "lt"),
}


def _type_error(v: Violation, value: t.Any) -> tuple[str, str]:
    expected = v.expected if isinstance(v.expected, list) else [v.expected]
    wanted = next((ty for ty in expected if ty != "null"), "null")
    text = isinstance(value, str)
    if wanted == "integer":
        if text:
            return "int_parsing", "Input should be a valid integer, unable to parse string as an integer"
        if isinstance(value, float) and not value.is_integer():
            return "int_from_float", "Input should be a valid integer, got a number with a fractional part"
        return "int_type", "Input should be a valid integer"
    if wanted == "number":
        if text:
            return "float_parsing", "Input should be a valid number, unable to parse string as a number"
        return "float_type", "Input should be a valid number"
    if wanted == "boolean":
        if text:
            return "bool_parsing", "Input should be a valid boolean, unable to interpret input"
        return "bool_type", "Input should be a valid boolean"
    if wanted == "object":
        if not v.path:
            return "model_attributes_type", _ATTRIBUTES
        return "dict_type", "Input should be a valid dictionary"
    if wanted == "array":
        return "list_type", "Input should be a valid list"
    if wanted == "null":
        return "none_required", "Input should be None"
    return "string_type", "Input should be a valid string"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


# ------------------------------------------------------------------ Gvnr: {"error": "<code>", hint, retryable, ...}

_GVNR_CODES = {
    E.VALIDATION: "invalid_params",
    E.MALFORMED: "invalid_json",
    E.TOO_LARGE: "invalid_params",
    E.MEDIA_TYPE: "invalid_params",
    E.UNAUTHENTICATED: "missing_api_key",
    E.FORBIDDEN: "forbidden",
    E.NOT_FOUND: "not_found",
    E.METHOD: "method_not_allowed",
    E.INTERNAL: "internal_error",
}


# Validation codes the service answers for particular operations instead of invalid_params:
# operationId -> {field: code}, checked in order, the first field with a violation wins. A field
# is a body property or a path/query parameter, optionally narrowed to one JSON Schema keyword
# ("usd:minimum"); "*" matches any violation of that operation's input. A code may come with
# extra envelope fields: (code, {"valid": [...]}).
_PACKS = {"valid": ["starter", "growth", "studio"]}
_CHANNELS = {"valid_channels": ["email", "telegram", "sms"]}
GVNR_FIELD_CODES: dict[str, dict[str, str | tuple[str, dict[str, t.Any]]]] = {
    "postAccountNotificationEmail": {"*": "invalid_email"},
    "postApprovalRequest": {
        "agent_id": ("invalid_agent_id", {"hint": "agent_id: 1..128 chars"}),
        "action_summary": ("invalid_action_summary", {"hint": "action_summary: 1..280 chars"}),
        "ttl_seconds": ("invalid_ttl_seconds", {"hint": "ttl_seconds: integer 1..604800"}),
        "channels": ("invalid_channels", _CHANNELS),
    },
    "getPacksByPackInfo": {"pack": ("invalid_pack", _PACKS)},
    "postAccountTopupVerify": {"tx_hash": "invalid_tx_hash", "signature": "invalid_signature"},
    "postAccountTopupVerifyByPack": {"tx_hash": "invalid_tx_hash", "signature": "invalid_signature"},
    "postAccountTopupByPack": {"pack": ("invalid_pack", _PACKS)},
    "postAccountTopup": {
        "usd:minimum": ("below_minimum", {"hint": "usd: at least 1 (dollars)"}),
        "usd:maximum": ("above_maximum", {"hint": "usd: at most 100 (dollars)"}),
        "usd": ("invalid_amount", {"hint": "usd: one number of dollars, 1..100"}),
    },
}


def _gvnr_field_code(failure: Failure) -> tuple[str, dict[str, t.Any]] | None:
    fields = GVNR_FIELD_CODES.get(failure.operation or "")
    if failure.kind != E.VALIDATION or not fields:
        return None
    named: set[str] = set()
    for v in failure.violations:
        if v.path and v.location in ("body", "query", "path"):
            named.update({str(v.path[0]), f"{v.path[0]}:{v.keyword}"})
        named.update(_required_fields(Failure(E.VALIDATION, 400, "", violations=[v])))
    for field_name, code in fields.items():
        if field_name == "*" or field_name in named:
            return (code, {}) if isinstance(code, str) else code
    return None


def gvnr(failure: Failure) -> Rendered:
    status = _status(failure, 400)
    field_code = None if failure.code else _gvnr_field_code(failure)
    body: dict[str, t.Any] = {
        "error": failure.code or (field_code[0] if field_code else _GVNR_CODES[failure.kind]),
        "retryable": status == 429 or (status >= 500 and status != 501),  # 501: retrying cannot help
        "hint": failure.message,
    }
    required = _required_fields(failure)
    if required:
        body["required"] = required
    if field_code:
        body.update(field_code[1])
    body.update(failure.extra)
    return status, body, failure.headers


# ------------------------------------------------------------------ requests outside every API

def generic(failure: Failure) -> Rendered:
    body = {"error": failure.code or _SNAKE_CODES[failure.kind], "message": failure.message}
    return _status(failure, 400), body, failure.headers


ENVELOPES = {"loup": loup, "loopkit": loopkit, "loopat": loopat, "lithtrix": lithtrix, "gvnr": gvnr}
