"""OpenAPI 3.1 on Connexion 3.3.

Connexion 3.3 refuses `openapi: 3.1.x` (it checks documents against its 3.0 schema) and
validates instances with JSON Schema Draft 4. This module supplies, through Connexion's
supported options only (a Specification subclass handed to `add_api`, `validator_map`,
`uri_parser_class`):

* `Spec31`: a Specification that validates the document with openapi-spec-validator (3.1)
  and leaves the served document untouched;
* validators that check parameters, request bodies and response bodies with Draft 2020-12
  semantics (type arrays with "null", `const`, `anyOf`/`oneOf`, `prefixItems`, ...);
* parameter coercion (query/path/header strings to the types a 3.1 schema allows).

Connexion's own argument injection still reads a single `type` per parameter, so each
parameter handed to Connexion gets a "lowered" schema (first non-null type) while the
original 3.1 schema is kept under `x-oas31-schema` for validation.
"""

from __future__ import annotations

import copy
import json
import re
import typing as t
from dataclasses import dataclass

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, ExtraParameterProblem, NonConformingResponseBody
from connexion.json_schema import resolve_refs
from connexion.lifecycle import ConnexionRequest
from connexion.spec import OpenAPISpecification
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import AbstractRequestBodyValidator, AbstractResponseBodyValidator
from connexion.validators.form_data import FormDataValidator, MultiPartFormDataValidator
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import OpenAPIV31SpecValidator

ORIGINAL = "x-oas31-schema"
_FORMATS = Draft202012Validator.FORMAT_CHECKER
_INTEGER = re.compile(r"^[+-]?\d+$")


# --------------------------------------------------------------------------- specification


class Spec31(OpenAPISpecification):
    """A 3.1 document: validated by openapi-spec-validator, refs resolved for Connexion.

    `raw` stays exactly the document on disk; only the resolved copy Connexion routes on
    is annotated (lowered parameter schemas, security function names).
    """

    security_functions: t.ClassVar[dict[str, str]] = {}

    def __init__(self, raw_spec: dict, *, base_uri: str = "") -> None:
        self._raw_spec = copy.deepcopy(raw_spec)
        self._set_defaults(raw_spec)
        self._validate_spec(raw_spec)
        self._spec = _annotate(resolve_refs(raw_spec, base_uri=base_uri), self.security_functions)
        self._base_uri = base_uri

    @classmethod
    def _validate_spec(cls, spec: dict) -> None:
        if not str(spec.get("openapi", "")).startswith("3.1"):
            raise ValueError("pentapi serves OpenAPI 3.1 documents only")
        OpenAPIV31SpecValidator(spec).validate()

    @classmethod
    def bound(cls, name: str, security_functions: dict[str, str]) -> type[Spec31]:
        """A subclass that knows which function verifies each security scheme.

        Connexion clones specifications with `type(self)(...)`, so the wiring lives on the class.
        """
        return type(f"Spec31_{name}", (cls,), {"security_functions": dict(security_functions)})


def _annotate(spec: dict, security_functions: dict[str, str]) -> dict:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        if name in security_functions:
            scheme[_info_func_key(scheme)] = security_functions[name]
    for item in spec.get("paths", {}).values():
        for param in item.get("parameters", []):
            _lower_parameter(param)
        for op in item.values():
            if isinstance(op, dict):
                for param in op.get("parameters", []):
                    _lower_parameter(param)
    return spec


def _info_func_key(scheme: dict) -> str:
    if scheme.get("type") == "apiKey":
        return "x-apikeyInfoFunc"
    if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "basic":
        return "x-basicInfoFunc"
    return "x-bearerInfoFunc"


def _lower_parameter(param: dict) -> None:
    schema = param.get("schema")
    if not isinstance(schema, dict) or ORIGINAL in param:
        return
    param[ORIGINAL] = schema
    lowered = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "type")}
    types = [ty for ty in schema_types(schema) if ty != "null"]
    lowered["type"] = types[0] if types else "string"
    if lowered["type"] == "array":
        items = schema.get("items") or {}
        item_types = [ty for ty in schema_types(items) if ty != "null"]
        lowered["items"] = {"type": item_types[0] if item_types else "string"}
    if "null" in schema_types(schema):
        lowered["nullable"] = True
    param["schema"] = lowered


# --------------------------------------------------------------------------- coercion


def schema_types(schema: dict) -> list[str]:
    """The JSON types a schema admits, in declaration order (unions flattened)."""
    found: list[str] = []
    declared = schema.get("type")
    if isinstance(declared, str):
        found.append(declared)
    elif isinstance(declared, list):
        found.extend(declared)
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            found.extend(schema_types(sub))
    for literal in ([schema["const"]] if "const" in schema else []) + list(schema.get("enum", [])):
        found.append(_json_type(literal))
    return list(dict.fromkeys(found))


def _json_type(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def coerce(value: t.Any, schema: dict) -> t.Any:
    """Turn a raw parameter string into the first type the schema admits that fits it.

    Anything that fits no type is returned unchanged, so validation reports it.
    """
    if isinstance(value, list):
        item_schema = schema.get("items") or {}
        return [coerce(v, item_schema) for v in value]
    if not isinstance(value, str):
        return value
    for ty in schema_types(schema) or ["string"]:
        if ty == "string":
            return value
        if ty == "integer" and _INTEGER.match(value):
            return int(value)
        if ty == "number":
            try:
                number = float(value)
            except ValueError:
                continue
            if number == number and number not in (float("inf"), float("-inf")):
                return int(number) if _INTEGER.match(value) else number
        if ty == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if ty in ("object", "array"):
            try:
                return json.loads(value)
            except ValueError:
                continue
    return value


class URIParser31(OpenAPIURIParser):
    """Connexion's OpenAPI URI parser with 3.1-aware coercion of each resolved value."""

    def resolve_params(self, params, _in):  # noqa: ANN001 - Connexion's signature
        resolved = {}
        for name, values in params.items():
            defn = self.param_defns.get(name)
            if not defn:
                resolved[name] = values
                continue
            schema = defn.get(ORIGINAL, defn.get("schema", {}))
            if _in == "path":
                values = [values]
            if "array" in schema_types(schema):
                values = self._resolve_param_duplicates(values, defn, _in)
                resolved[name] = coerce(self._split(values, defn, _in), schema)
            else:
                resolved[name] = coerce(values[-1], schema)
        return resolved

    def resolve_form(self, form_data):  # noqa: ANN001 - Connexion's signature
        schema = self._body_schema or {}
        if "object" not in schema_types(schema):
            return form_data
        for name in form_data:
            prop = schema.get("properties", {}).get(name, {})
            encoding = self._body_encoding.get(name, {"style": "form"})
            value = self._resolve_param_duplicates(form_data[name], encoding, "form")
            if "array" in schema_types(prop):
                value = self._split(value, encoding, "form")
            form_data[name] = coerce(value, prop)
        return form_data


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Violation:
    """One validation failure, located the way the API envelopes want to report it."""

    location: str  # "body", "query", "path", "header", "cookie"
    path: tuple[str | int, ...]
    message: str
    keyword: str


class RequestValidationProblem(BadRequestProblem):
    """A 400 that carries structured violations for per-API envelopes (e.g. FastAPI's `loc`)."""

    def __init__(self, violations: list[Violation]) -> None:
        first = violations[0]
        where = ".".join(str(p) for p in first.path)
        super().__init__(detail=f"{first.message}" + (f" ({first.location}: {where})" if where else ""))
        self.violations = violations


_validators: dict[int, tuple[dict, Draft202012Validator]] = {}


def validator_for(schema: dict) -> Draft202012Validator:
    """Draft 2020-12 validator, built once per (long-lived, resolved) schema object."""
    hit = _validators.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, Draft202012Validator(schema, format_checker=_FORMATS))
        _validators[id(schema)] = hit
    return hit[1]


def violations(instance: t.Any, schema: dict, location: str, prefix: tuple = ()) -> list[Violation]:
    errors = sorted(validator_for(schema).iter_errors(instance), key=lambda e: list(e.path))
    return [
        Violation(location, prefix + tuple(error.absolute_path), _message(error), str(error.validator))
        for error in errors
    ]


def _message(error: ValidationError) -> str:
    if error.validator == "required":
        return error.message
    if error.validator in ("anyOf", "oneOf") and error.context:
        return error.message.split(" is not valid under")[0] + " matches none of the allowed shapes"
    return error.message


class ParameterValidator31:
    """Validates path, query, header and cookie parameters against their 3.1 schemas."""

    def __init__(self, parameters, uri_parser, strict_validation=False, security_query_params=None):
        self.parameters = list(parameters)
        self.uri_parser = uri_parser
        self.strict_validation = strict_validation
        self.security_query_params = set(security_query_params or [])

    def validate(self, scope) -> None:
        request = ConnexionRequest(scope, uri_parser=self.uri_parser)
        if self.strict_validation:
            known = {p["name"] for p in self.parameters if p["in"] == "query"}
            extra = set(request.query_params) - known - self.security_query_params
            if extra:
                raise ExtraParameterProblem(param_type="query", extra_params=extra)
        found: list[Violation] = []
        for param in self.parameters:
            schema = param.get(ORIGINAL, param.get("schema", {}))
            value = self._value(request, param)
            if value is None:
                if param.get("required"):
                    found.append(
                        Violation(param["in"], (param["name"],), f"'{param['name']}' is required", "required")
                    )
                continue
            if param["in"] in ("header", "cookie"):
                value = coerce(value, schema)
            found.extend(violations(value, schema, param["in"], (param["name"],)))
        if found:
            raise RequestValidationProblem(found)

    @staticmethod
    def _value(request: ConnexionRequest, param: dict) -> t.Any:
        where = param["in"]
        if where == "query":
            return request.query_params.get(param["name"])
        if where == "path":
            return request.path_params.get(param["name"].replace("-", "_"))
        if where == "header":
            return request.headers.get(param["name"])
        return request.cookies.get(param["name"])


_ABSENT = object()  # an empty request body, as opposed to the JSON value null


class JSONBodyValidator31(AbstractRequestBodyValidator):
    """JSON request bodies, Draft 2020-12. Malformed JSON is a 400 in the API's envelope."""

    async def _parse(self, stream, scope) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return _ABSENT
        try:
            body = json.loads(raw.decode(self._encoding))
            if b"\\u" in raw:
                # An escaped lone surrogate ("\ud800") parses, but is no Unicode text: nothing can
                # store or send it on. (Raw bytes cannot carry one: the decode above refuses it.)
                json.dumps(body, ensure_ascii=False).encode("utf-8")
            return body
        except (UnicodeDecodeError, UnicodeEncodeError, ValueError) as exc:
            raise MalformedBodyProblem(f"Request body is not valid JSON: {exc}") from None

    def _validate(self, body: t.Any) -> None:
        # No body at all is "absent"; a JSON `null` is a value, checked against the schema.
        if body is _ABSENT:
            if self._required:
                raise RequestValidationProblem(
                    [Violation("body", (), "Request body is required", "required")]
                )
            return
        found = violations(body, self._schema, "body")
        if found:
            raise RequestValidationProblem(found)


class MalformedBodyProblem(BadRequestProblem):
    """The body could not be parsed at all (not a schema mismatch)."""


class FormBodyValidator31(FormDataValidator):
    def _validate(self, body: t.Any) -> None:
        found = violations(body, self._schema, "body")
        if found:
            raise RequestValidationProblem(found)


class MultiPartBodyValidator31(MultiPartFormDataValidator):
    def _validate(self, body: t.Any) -> None:
        found = violations(body, self._schema, "body")
        if found:
            raise RequestValidationProblem(found)


class JSONResponseValidator31(AbstractResponseBodyValidator):
    """Response bodies (only when response validation is on: always in the test suite)."""

    def _parse(self, stream) -> t.Any:
        raw = b"".join(stream).decode(self._encoding)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise NonConformingResponseBody(f"Response body is not JSON: {exc}") from None

    def _validate(self, body: t.Any) -> None:
        found = violations(body, self._schema, "response")
        if found:
            first = found[0]
            raise NonConformingResponseBody(
                f"Response body does not conform to specification: {first.message} at "
                f"{'/'.join(str(p) for p in first.path) or '(root)'}"
            )


class TextResponseValidator31(JSONResponseValidator31):
    def _parse(self, stream) -> t.Any:
        raw = b"".join(stream).decode(self._encoding)
        try:
            return json.loads(raw)
        except ValueError:
            return raw


VALIDATOR_MAP = {
    "parameter": ParameterValidator31,
    "body": MediaTypeDict(
        {
            "*/*json": JSONBodyValidator31,
            "application/x-www-form-urlencoded": FormBodyValidator31,
            "multipart/form-data": MultiPartBodyValidator31,
        }
    ),
    "response": MediaTypeDict(
        {"*/*json": JSONResponseValidator31, "text/plain": TextResponseValidator31}
    ),
}
