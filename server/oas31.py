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
from dataclasses import dataclass, field

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
from starlette.datastructures import Headers, MutableHeaders

ORIGINAL = "x-oas31-schema"
_FORMATS = Draft202012Validator.FORMAT_CHECKER
# ASCII digits only (\d takes any script's), and few enough for int(), which refuses past 4300:
# anything else stays a string and fails the schema's type as a 400.
_INTEGER = re.compile(r"[+-]?[0-9]{1,1000}")


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
        if ty == "integer" and _INTEGER.fullmatch(value):
            return int(value)
        if ty == "number":
            try:
                number = float(value)
            except ValueError:
                continue
            if number == number and number not in (float("inf"), float("-inf")):
                return int(number) if _INTEGER.fullmatch(value) else number
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
    instance: t.Any = field(default=None, compare=False)  # the offending value
    expected: t.Any = field(default=None, compare=False)  # the keyword's value in the schema (20 for maximum)


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
    if _quick_check(schema)(instance):
        return []
    errors = sorted(validator_for(schema).iter_errors(instance), key=lambda e: list(e.path))
    return [
        Violation(location, prefix + tuple(error.absolute_path), _message(error), str(error.validator),
                  instance=error.instance, expected=error.validator_value)
        for error in errors
    ]


# ----------------------------------------------------------------- quick acceptance
#
# jsonschema walks a small body in tens of microseconds; the common shapes (flat objects of
# strings, numbers and booleans with bounds, enums, required) are checked here in a few. The
# quick check only ever *accepts*: anything it does not fully understand, and every instance
# it does not accept, goes through jsonschema, which alone produces violations.

Check = t.Callable[[t.Any], bool]
_NOT_SURE: Check = lambda instance: False  # noqa: E731 - the "ask jsonschema" check
# `components`: Connexion attaches the document's components to every body schema, for $ref
# resolution. A schema the quick check understands has no $ref, so they are never consulted.
_IGNORED = {"description", "title", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment",
            "components"}
_SCALARS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v == v,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_LENGTHS = {"minLength", "maxLength"}
_RANGES = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
_NUMERIC = {"integer", "number"}
_quick: dict[int, tuple[dict, Check]] = {}


def _quick_check(schema: dict) -> Check:
    hit = _quick.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, _compile_quick(schema) or _NOT_SURE)
        _quick[id(schema)] = hit
    return hit[1]


def _compile_quick(schema: t.Any) -> Check | None:
    """A check for `schema`, or None when it uses anything beyond the simple keywords."""
    if not isinstance(schema, dict):
        return None
    keys = set(schema) - _IGNORED
    kind = schema.get("type")
    if kind == "object":
        if keys - {"type", "properties", "required", "additionalProperties"}:
            return None
        if schema.get("additionalProperties", True) is not True:
            return None
        props = {}
        for name, sub in schema.get("properties", {}).items():
            props[name] = _compile_quick(sub)
            if props[name] is None:
                return None
        required = tuple(schema.get("required", ()))

        def check_object(v: t.Any) -> bool:
            if not isinstance(v, dict) or any(r not in v for r in required):
                return False
            return all(check(v[name]) for name, check in props.items() if name in v)

        return check_object
    if not isinstance(kind, str) or kind not in _SCALARS:
        return None
    allowed = {"type", "enum", "const"} | (_LENGTHS if kind == "string" else _RANGES if kind in _NUMERIC else set())
    if keys - allowed:
        return None
    is_type = _SCALARS[kind]
    bounds = [(k, schema[k]) for k in sorted(_LENGTHS | _RANGES) if k in schema]
    if any(isinstance(b, bool) or not isinstance(b, int | float) for _, b in bounds):
        return None
    choices = schema.get("enum")
    if choices is not None and (not isinstance(choices, list) or not all(isinstance(c, str) for c in choices)):
        return None  # enum equality has JSON semantics (1 == 1.0 == True in Python): strings only
    const = schema.get("const", _IGNORED)
    if const is not _IGNORED and not isinstance(const, str):
        return None

    def check_scalar(v: t.Any) -> bool:
        if not is_type(v):
            return False
        for key, bound in bounds:
            if key == "minLength" and len(v) < bound or key == "maxLength" and len(v) > bound:
                return False
            if key == "minimum" and v < bound or key == "maximum" and v > bound:
                return False
            if key == "exclusiveMinimum" and v <= bound or key == "exclusiveMaximum" and v >= bound:
                return False
        return (choices is None or v in choices) and (const is _IGNORED or v == const)

    return check_scalar


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
        if not self.parameters and not self.strict_validation:
            return  # nothing to check: skip building a request object on every call
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


class ChunkedBodies:
    """Connexion decides a body is absent when there is no Content-Length, so a chunked body
    (Transfer-Encoding: chunked) would read as missing. Buffer it first (BodyLimit bounds its
    size) and hand the validator a request that declares its real length."""

    async def wrap_receive(self, receive, *, scope):  # noqa: ANN001 - Connexion's signature
        headers = Headers(scope=scope)
        if "content-length" in headers or "transfer-encoding" not in headers:
            return await super().wrap_receive(receive, scope=scope)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away mid-body
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"]}
        MutableHeaders(scope=scope)["content-length"] = str(len(body))
        receive = self._insert_messages(receive, messages=[{"type": "http.request", "body": body}])
        return await super().wrap_receive(receive, scope=scope)


NO_BODY = object()  # an empty body, told apart from a JSON `null`


class JSONBodyValidator31(ChunkedBodies, AbstractRequestBodyValidator):
    """JSON request bodies, Draft 2020-12. Malformed JSON is a 400 in the API's envelope.

    An empty body is absent (400 only when the body is required); a literal `null` is a value
    and is validated like any other (refused unless the schema admits null).
    """

    async def _parse(self, stream, scope) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw.strip():
            return NO_BODY
        try:
            body = json.loads(raw.decode(self._encoding))
        except json.JSONDecodeError as exc:
            raise MalformedBodyProblem(f"Request body is not valid JSON: {exc}", exc.pos, exc.msg) from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedBodyProblem(f"Request body is not valid JSON: {exc}", 0, str(exc)) from None
        except RecursionError:  # e.g. 100,000 nested arrays: json's recursive decoder gives up
            raise MalformedBodyProblem("Request body is not valid JSON: nested too deeply") from None
        if b"\\u" in raw:
            # An escaped lone surrogate ("\ud800") parses, but is no Unicode text: nothing can
            # store or send it on. (Raw bytes cannot carry one: the decode above refuses it.)
            try:
                json.dumps(body, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as exc:
                raise MalformedBodyProblem(f"Request body is not valid JSON: {exc}", 0, str(exc)) from None
        return body

    def _validate(self, body: t.Any) -> None:
        if body is NO_BODY:
            if self._required:
                raise RequestValidationProblem(
                    [Violation("body", (), "Request body is required", "required")]
                )
            return
        try:
            found = violations(body, self._schema, "body")
        except RecursionError:  # parseable, yet too deep for the validator to walk
            raise MalformedBodyProblem("Request body is nested too deeply") from None
        if found:
            raise RequestValidationProblem(found)


class MalformedBodyProblem(BadRequestProblem):
    """The body could not be parsed at all (not a schema mismatch): where and why."""

    def __init__(self, detail: str, position: int = 0, reason: str = "") -> None:
        super().__init__(detail=detail)
        self.position = position  # character offset of the error
        self.reason = reason or detail


class FormBodyValidator31(ChunkedBodies, FormDataValidator):
    def _validate(self, body: t.Any) -> None:
        found = violations(body, self._schema, "body")
        if found:
            raise RequestValidationProblem(found)


class MultiPartBodyValidator31(ChunkedBodies, MultiPartFormDataValidator):
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
