"""OpenAPI 3.1 semantics end to end through the real ASGI app, on a fixture spec that uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.oas31 import mount_json


@pytest.fixture
def fx(make_client):
    return make_client(extra_apis=mount_json())


def test_type_array_with_null_parameter(fx):
    assert fx.get("/oas31/items/5").status_code == 200
    assert fx.get("/oas31/items/5?filter=ab").json()["note"].startswith("ab|")
    r = fx.get("/oas31/items/5?filter=abcdefgh")
    assert r.status_code == 400 and "too long" in r.json()["error"]


def test_const_parameter(fx):
    assert fx.get("/oas31/items/5?mode=fast").status_code == 200
    r = fx.get("/oas31/items/5?mode=slow")
    assert r.status_code == 400 and "'fast' was expected" in r.json()["error"]


def test_anyof_with_null_parameter_is_coerced_then_checked(fx):
    assert fx.get("/oas31/items/5?limit=3").json()["note"].endswith("|3|None")
    assert fx.get("/oas31/items/5?limit=0").status_code == 400
    assert fx.get("/oas31/items/5?limit=eleven").status_code == 400
    # only ASCII decimal digits are an integer, and not more than int() reads ("²" is
    # str.isdigit(), "٣" is \d; 5000 digits is past int()'s limit): each is a 400, not a 500
    for value in ("\u0663", "\u00b2", "9" * 5000, "1\n"):
        r = fx.get("/oas31/items/5", params={"limit": value})
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", (value[:10], r.text[:200])


def test_array_parameter_items_are_coerced(fx):
    assert fx.get("/oas31/items/5?flags=true,false").json()["note"].endswith("[True, False]")
    assert fx.get("/oas31/items/5?flags=maybe").status_code == 400


def test_header_with_type_array(fx):
    assert fx.get("/oas31/items/5", headers={"X-Trace": "abc"}).status_code == 200
    assert fx.get("/oas31/items/5", headers={"X-Trace": "123456789"}).status_code == 400


def test_oneof_body_accepts_exactly_one_branch(fx):
    assert fx.post("/oas31/shapes", json={"kind": "circle", "radius": 1}).status_code == 201
    square = fx.post("/oas31/shapes", json={"kind": "square", "side": 2}).json()
    assert square == {"kind": "square", "area": 4, "side": 2}
    for bad in ({"kind": "circle", "side": 2}, {"kind": "circle", "radius": -1}, {"kind": "triangle"}, [], "x"):
        r = fx.post("/oas31/shapes", json=bad)
        assert r.status_code == 400, bad
        assert r.json()["code"] == "invalid_request"


def test_body_fields_typed_with_null_per_31(fx):
    # label: {"type": ["string", "null"], "maxLength": 8}; weight: anyOf [integer >= 1, null]
    ok = fx.post("/oas31/shapes", json={"kind": "square", "side": 2, "label": None, "weight": None})
    assert ok.status_code == 201 and ok.json() == {"kind": "square", "area": 4, "side": 2, "label": None}
    assert fx.post("/oas31/shapes", json={"kind": "circle", "radius": 1, "label": "c", "weight": 3}).status_code == 201
    for bad in ({"label": "much too long"}, {"label": 7}, {"weight": 0}, {"weight": "3"}, {"weight": 1.5}):
        r = fx.post("/oas31/shapes", json={"kind": "square", "side": 2, **bad})
        assert r.status_code == 400 and r.json()["code"] == "invalid_request", bad


def test_oneof_response_must_match_exactly_one_branch(fx):
    r = fx.post("/oas31/shapes", json={"kind": "circle", "radius": 1, "label": "round"})
    assert r.status_code == 201 and r.json()["label"] == "round"
    # a circle answered with a square's `side` fits neither branch: response validation catches it
    assert fx.post("/oas31/shapes", json={"kind": "circle", "radius": 1, "label": "mixed"}).status_code == 500


def test_json_null_is_a_value_not_an_absent_body(fx):
    # /crash takes an optional object body: none at all reaches the handler (which crashes: 500),
    # a JSON null is not an object and is refused before it.
    assert fx.post("/oas31/crash").status_code == 500
    r = fx.post("/oas31/crash", content=b"null", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "object" in r.json()["error"]


def test_a_lone_surrogate_in_a_json_string_is_a_malformed_body(fx):
    lone = fx.post("/oas31/counters", content=b'{"key": "a\\ud800"}', headers={"content-type": "application/json"})
    assert lone.status_code == 400 and lone.json()["code"] == "invalid_json"
    pair = fx.post("/oas31/counters", content=b'{"key": "\\ud83d\\ude00"}',
                   headers={"content-type": "application/json"})
    assert pair.status_code == 200 and pair.json()["key"] == "\U0001f600"  # a surrogate pair is one character


def test_response_with_null_and_anyof_null_passes_validation(fx):
    r = fx.get("/oas31/items/5?shape=null-note")
    assert r.status_code == 200
    assert r.json() == {"id": 5, "kind": "item", "note": None, "extra": None}


def test_response_that_breaks_the_31_schema_is_caught(fx):
    r = fx.get("/oas31/items/5?shape=broken")
    assert r.status_code == 500
    assert "does not conform" in r.json()["error"]


def test_served_document_is_the_31_document(fx):
    served = fx.get("/oas31/openapi.json").json()
    on_disk = json.loads(Path("tests/fixtures/oas31/openapi.json").read_text())
    assert served["openapi"] == "3.1.0"
    assert served["servers"] == [{"url": "/oas31"}]
    assert {k: v for k, v in served.items() if k != "servers"} == on_disk


def test_bearer_security_resolves_by_hash(fx):
    assert fx.get("/oas31/secure").status_code == 401
    r = fx.get("/oas31/secure", headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()["code"]) == (401, "invalid_key")
    r = fx.get("/oas31/secure", headers={"Authorization": "Bearer good-token"})
    assert r.json() == {"principal": "fixture-user"}


def test_async_handler_sees_the_principal_through_connexion_context(fx):
    assert fx.get("/oas31/secure/native").status_code == 401
    r = fx.get("/oas31/secure/native", headers={"Authorization": "Bearer good-token"})
    assert r.json() == {"principal": "fixture-user", "native": True}


def test_async_handler_streams_sse(fx):
    r = fx.get("/oas31/stream?n=3")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [block for block in r.text.split("\n\n") if block]
    assert [e.splitlines()[0] for e in events] == ["id: 0", "id: 1", "id: 2"]
