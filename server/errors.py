"""One small exception tree, rendered by one function into the owning API's envelope.

Handlers raise `ApiError(status, code, message, **extra)`. Everything else that can go wrong
(validation, auth, unknown route, wrong method, malformed or oversized body, wrong content
type, an unhandled exception) is first classified into a `Failure` and then rendered by the
envelope of the API that owns the request path (see `server.envelopes`).
"""

from __future__ import annotations

import http.cookies
import logging
import typing as t
from dataclasses import dataclass, field

from connexion.exceptions import (
    BadRequestProblem,
    ExtraParameterProblem,
    Forbidden,
    NonConformingResponse,
    OAuthProblem,
    OAuthScopeProblem,
    ProblemException,
    Unauthorized,
    UnsupportedMediaTypeProblem,
)
from starlette.exceptions import HTTPException

from server.oas31 import MalformedBodyProblem, RequestValidationProblem, Violation

log = logging.getLogger("pentapi.errors")


class ApiError(Exception):
    """A domain error a handler (or security function) raises: status, machine code, message.

    Extra keyword arguments become extra envelope fields where the API's envelope has them
    (Gvnr's `retry_after_ms`, Loup's `retry_after_seconds`, ...).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: t.Any,
    ) -> None:
        super().__init__(message or code)
        self.status_code = status  # read by Connexion's security layer to rank failures
        self.code = code
        self.message = message or code.replace("_", " ")
        self.headers = headers or {}
        self.extra = extra


class BodyTooLarge(Exception):
    """The request body exceeds the configured limit (rendered with the validation status)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body exceeds {limit} bytes")
        self.limit = limit


# The kinds of failure every envelope knows how to name.
VALIDATION = "validation"
MALFORMED = "malformed_body"
TOO_LARGE = "body_too_large"
MEDIA_TYPE = "unsupported_media_type"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
METHOD = "method_not_allowed"
INTERNAL = "internal"
DOMAIN = "domain"


@dataclass
class Failure:
    kind: str
    status: int
    message: str
    code: str | None = None  # set for domain errors
    extra: dict[str, t.Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    operation: str | None = None  # the operationId routing matched, when it got that far


_BODY_REQUIRED = "RequestBody is required"


def classify(exc: BaseException) -> Failure:
    """Map any exception to a Failure. Unknown exceptions become an opaque 500."""
    if isinstance(exc, ApiError):
        return Failure(DOMAIN, exc.status_code, exc.message, exc.code, exc.extra, exc.headers)
    if isinstance(exc, BodyTooLarge):
        return Failure(TOO_LARGE, 400, str(exc))
    if isinstance(exc, RequestValidationProblem):
        return Failure(VALIDATION, 400, exc.detail, violations=exc.violations)
    if isinstance(exc, MalformedBodyProblem):
        where = Violation("body", (exc.position,), exc.reason, "json_invalid")
        return Failure(MALFORMED, 400, exc.detail, violations=[where])
    if isinstance(exc, ExtraParameterProblem | BadRequestProblem):
        found = []
        if exc.detail == _BODY_REQUIRED:  # Connexion's own check, before any body validator runs
            found = [Violation("body", (), "Request body is required", "required")]
        return Failure(VALIDATION, 400, exc.detail or "Bad request", violations=found)
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return Failure(MEDIA_TYPE, 415, exc.detail or "Unsupported media type")
    if isinstance(exc, OAuthScopeProblem | Forbidden):
        return Failure(FORBIDDEN, 403, getattr(exc, "detail", None) or "Forbidden")
    if isinstance(exc, http.cookies.CookieError):
        # Connexion's cookie security cannot parse the Cookie header: no credential was given.
        return Failure(UNAUTHENTICATED, 401, "malformed Cookie header")
    if isinstance(exc, OAuthProblem | Unauthorized):
        return Failure(UNAUTHENTICATED, 401, exc.detail or "Authentication required")
    if isinstance(exc, NonConformingResponse):
        log.error("response does not conform to the spec: %s", exc.detail)
        return Failure(INTERNAL, 500, exc.detail or "Response does not conform to the spec")
    if isinstance(exc, ProblemException):
        kind = INTERNAL if exc.status >= 500 else VALIDATION
        return Failure(kind, exc.status, exc.detail or exc.title or "Error")
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return Failure(NOT_FOUND, 404, "Not found")
        if exc.status_code == 405:
            return Failure(METHOD, 405, "Method not allowed", headers=dict(exc.headers or {}))
        if exc.status_code == 413:
            return Failure(TOO_LARGE, 400, exc.detail or "Request body too large")
        if exc.status_code < 500:
            return Failure(VALIDATION, 400, exc.detail or "Bad request")
    return Failure(INTERNAL, 500, "Internal server error")
