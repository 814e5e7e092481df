"""The 3.1 layer without a server: type sets, coercion, spec loading, lowering."""

from __future__ import annotations

import copy

import pytest
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from server.apis import APIS
from server.oas31 import ORIGINAL, Spec31, coerce, schema_types, violations


@pytest.mark.parametrize(
    ("schema", "types"),
    [
        ({"type": ["integer", "null"]}, ["integer", "null"]),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, ["string", "null"]),
        ({"oneOf": [{"type": "boolean"}, {"type": ["number", "null"]}]}, ["boolean", "number", "null"]),
        ({"const": 3}, ["integer"]),
        ({"enum": ["a", None]}, ["string", "null"]),
        ({}, []),
    ],
)
def test_schema_types_flatten_unions(schema, types):
    assert schema_types(schema) == types


@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("5", {"type": ["integer", "null"]}, 5),
        ("-7", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, -7),
        ("2.5", {"type": "number"}, 2.5),
        ("3", {"type": "number"}, 3),
        ("true", {"type": "boolean"}, True),
        ("FALSE", {"type": ["boolean", "null"]}, False),
        ("abc", {"type": ["integer", "string"]}, "abc"),
        ("12", {"type": ["string", "integer"]}, "12"),  # declaration order decides
        ("abc", {"type": "integer"}, "abc"),  # left as is: validation reports it
        ("nan", {"type": "number"}, "nan"),
        (["1", "2"], {"type": "array", "items": {"type": "integer"}}, [1, 2]),
        ("fast", {"const": "fast"}, "fast"),
        ('{"a": 1}', {"type": "object"}, {"a": 1}),
    ],
)
def test_coerce_follows_the_31_schema(raw, schema, expected):
    assert coerce(raw, schema) == expected


def test_violations_use_draft_2020_12():
    nullable = {"type": ["string", "null"]}
    assert violations(None, nullable, "body") == []
    assert violations(3, nullable, "body")[0].keyword == "type"
    assert violations("slow", {"const": "fast"}, "query")[0].keyword == "const"
    # prefixItems exists only from 2020-12 on: Draft 4 would ignore it
    assert violations([1, "x"], {"prefixItems": [{"type": "integer"}, {"type": "integer"}]}, "body")
    one_of = {"oneOf": [{"type": "integer"}, {"type": "number"}]}
    assert violations(1, one_of, "body")[0].keyword == "oneOf"  # matches both: not exactly one
    found = violations({"a": {"b": "x"}}, {"properties": {"a": {"properties": {"b": {"type": "integer"}}}}}, "body")
    assert found[0].path == ("a", "b")


def test_each_product_spec_loads_as_31_and_keeps_raw_untouched():
    for api in APIS.values():
        before = copy.deepcopy(api.document)
        spec = Spec31.bound(api.name, {})(api.document)
        assert spec.raw == before
        assert spec.version[:2] == (3, 1)


def test_a_30_document_is_refused():
    doc = {"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}}
    with pytest.raises(ValueError, match="3.1"):
        Spec31(doc)


def test_a_broken_31_document_is_refused():
    broken = {"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": "nope"}}}}
    with pytest.raises(OpenAPIValidationError):
        Spec31(broken)


def test_parameters_are_lowered_for_connexion_and_the_original_kept():
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {"/a": {"get": {
            "parameters": [{"name": "n", "in": "query", "schema": {"type": ["integer", "null"], "maximum": 3}}],
            "responses": {"200": {"description": "ok"}},
        }}},
    }
    spec = Spec31(doc)
    param = spec["paths"]["/a"]["get"]["parameters"][0]
    assert param["schema"] == {"maximum": 3, "type": "integer", "nullable": True}
    assert param[ORIGINAL] == {"type": ["integer", "null"], "maximum": 3}
    assert "x-oas31-schema" not in str(spec.raw)


def test_security_functions_are_wired_on_the_resolved_copy_only():
    api = APIS["gvnr"]
    spec = Spec31.bound("gvnr", {"bearerAuth": "handlers.gvnr.security.bearer_auth"})(api.document)
    assert spec.security_schemes["bearerAuth"]["x-bearerInfoFunc"] == "handlers.gvnr.security.bearer_auth"
    assert "x-bearerInfoFunc" not in str(spec.raw)


# --------------------------------------------------------------------------- quick acceptance

QUICK_SCHEMAS = [
    {"type": "object", "required": ["a", "n"], "properties": {
        "a": {"type": "string", "minLength": 1, "maxLength": 3},
        "n": {"type": "integer", "minimum": 1, "maximum": 10},
        "x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5},
        "e": {"type": "string", "enum": ["daily", "session"]},
        "b": {"type": "boolean"}}},
    {"type": "string", "const": "yes"},
    {"type": "integer", "minLength": 2},  # a length bound on a number: not understood, jsonschema decides
    {"type": ["string", "null"]},
    {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}},
    {"type": "integer", "enum": [1, 2]},
    {"type": "string", "format": "email"},
    # as Connexion hands a body schema over: the document's components attached, for $ref
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}},
     "components": {"schemas": {"Other": {"type": "integer"}}}},
    {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/Other"}},
     "components": {"schemas": {"Other": {"type": "integer"}}}},
]
QUICK_INSTANCES = [
    None, True, False, 0, 1, 1.0, 2, 10, 11, 0.5, 1.5, -1, float("nan"), float("inf"), "", "a", "abcd", "yes", "no",
    "daily", [], {}, {"a": "x", "n": 1}, {"a": "x", "n": 1.0}, {"a": "", "n": 1}, {"a": "x", "n": True},
    {"a": "x", "n": 5, "x": 0.5, "e": "daily", "b": False}, {"a": "x", "n": 5, "x": 1.5}, {"a": "x", "n": 5, "e": "x"},
    {"a": "x", "n": 5, "b": 0}, {"a": "x"}, {"a": "x", "n": 5, "extra": [1]},
]


@pytest.mark.parametrize("schema", QUICK_SCHEMAS)
def test_quick_acceptance_never_accepts_what_jsonschema_refuses(schema):
    from jsonschema import Draft202012Validator

    from server.oas31 import _quick_check

    quick = _quick_check(schema)
    reference = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for instance in QUICK_INSTANCES:
        if quick(instance):
            assert reference.is_valid(instance), (schema, instance)
        assert (violations(instance, schema, "body") == []) == reference.is_valid(instance), (schema, instance)


def test_quick_acceptance_covers_the_common_body():
    from server.oas31 import _NOT_SURE, _quick_check

    assert _quick_check(QUICK_SCHEMAS[0]) is not _NOT_SURE
    assert _quick_check(QUICK_SCHEMAS[0])({"a": "x", "n": 3, "e": "session"})
    assert _quick_check({"type": "string", "format": "email"}) is _NOT_SURE
    assert _quick_check(QUICK_SCHEMAS[-2]) is not _NOT_SURE  # components attached by Connexion
    assert _quick_check(QUICK_SCHEMAS[-1]) is _NOT_SURE  # a $ref: jsonschema resolves it
