"""The input of each Gvnr operation as one JSON Schema, read from the spec: the JSON request
body's schema with the path parameters added as properties. The MCP tools use it as their
`inputSchema` and validate arguments with it exactly as the REST door validates requests
(Draft 2020-12, server/oas31.py), so both doors accept and refuse the same input."""

from __future__ import annotations

import copy
import typing as t
from functools import cache

from connexion.json_schema import resolve_refs

from server.apis import APIS
from server.oas31 import RequestValidationProblem, Violation, violations


@cache
def _operations() -> dict[str, dict]:
    document = resolve_refs(copy.deepcopy(APIS["gvnr"].document))
    found = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                found[op["operationId"]] = {**op, "_path": path, "_method": method}
    return found


@cache
def schema(operation_id: str) -> dict[str, t.Any]:
    op = _operations()[operation_id]
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    merged: dict[str, t.Any] = copy.deepcopy(body) if body else {"type": "object", "properties": {}}
    merged.setdefault("properties", {})
    for param in op.get("parameters", []):
        if param["in"] == "path":
            merged["properties"][param["name"]] = {**param.get("schema", {}), "minLength": 1}
            merged.setdefault("required", []).append(param["name"])
    return merged


@cache
def success_schema(operation_id: str) -> dict[str, t.Any] | None:
    """The JSON schema of the operation's 200 (or 201) answer."""
    responses = _operations()[operation_id].get("responses", {})
    for status in ("200", "201"):
        schema = responses.get(status, {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            return copy.deepcopy(schema)
    return None


def summary(operation_id: str) -> str:
    op = _operations()[operation_id]
    return op.get("description") or op.get("summary", operation_id)


def check(operation_id: str, arguments: t.Any) -> dict[str, t.Any]:
    """`arguments` if they are valid input for the operation; otherwise RequestValidationProblem."""
    found = violations(arguments, schema(operation_id), "body")
    if found:
        raise RequestValidationProblem(found)
    return arguments


def require_body(operation_id: str, body: t.Any) -> dict[str, t.Any]:
    """The REST door's body, which the spec leaves optional: a missing one is invalid_params."""
    if isinstance(body, dict):
        return body
    names = schema(operation_id).get("required", [])
    raise RequestValidationProblem(
        [Violation("body", (), f"'{name}' is a required property", "required") for name in names]
        or [Violation("body", (), "Request body is required", "required")])

