"""Each API's error envelope, exactly as its spec (and its public service) shapes errors.

`render(api, failure)` returns (status, body, headers). Wrong content type and oversized bodies
answer with the API's validation status (what the specs document) rather than 413/415.
"""

from __future__ import annotations

import typing as t

from server import errors as E
from server.errors import Failure

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
        if "/choices/" in failure.path and first.location == "body":
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
_FASTAPI_TYPES = {
    "required": "missing",
    "type": "type_error",
    "maxLength": "string_too_long",
    "minLength": "string_too_short",
    "maximum": "less_than_equal",
    "minimum": "greater_than_equal",
    "exclusiveMaximum": "less_than",
    "exclusiveMinimum": "greater_than",
    "enum": "enum",
    "const": "literal_error",
    "pattern": "string_pattern_mismatch",
    "format": "value_error",
    "additionalProperties": "extra_forbidden",
}


def lithtrix(failure: Failure) -> Rendered:
    if failure.kind == E.VALIDATION:
        return 422, {"detail": _fastapi_detail(failure)}, failure.headers
    if failure.kind in (E.MALFORMED, E.TOO_LARGE, E.MEDIA_TYPE):
        kind = {E.MALFORMED: "json_invalid", E.TOO_LARGE: "value_error", E.MEDIA_TYPE: "model_attributes_type"}
        return 422, {"detail": [{"loc": ["body"], "msg": failure.message, "type": kind[failure.kind]}]}, {}
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
    if not failure.violations:
        return [{"loc": ["body"], "msg": failure.message, "type": "value_error"}]
    detail = []
    for v in failure.violations:
        loc: list[t.Any] = [v.location, *v.path]
        if v.keyword == "required" and v.location == "body":
            missing = _required_fields(Failure(E.VALIDATION, 422, "", violations=[v]))
            loc = [*loc, *missing]
        detail.append({"loc": loc, "msg": v.message, "type": _FASTAPI_TYPES.get(v.keyword, "value_error")})
    return detail


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


def gvnr(failure: Failure) -> Rendered:
    status = _status(failure, 400)
    body: dict[str, t.Any] = {
        "error": failure.code or _GVNR_CODES[failure.kind],
        "retryable": status >= 500 or status == 429,
        "hint": failure.message,
    }
    required = _required_fields(failure)
    if required:
        body["required"] = required
    body.update(failure.extra)
    return status, body, failure.headers


# ------------------------------------------------------------------ requests outside every API

def generic(failure: Failure) -> Rendered:
    body = {"error": failure.code or _SNAKE_CODES[failure.kind], "message": failure.message}
    return _status(failure, 400), body, failure.headers


ENVELOPES = {"loup": loup, "loopkit": loopkit, "loopat": loopat, "lithtrix": lithtrix, "gvnr": gvnr}
