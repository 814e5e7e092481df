"""Every error kind answers in the owning API's envelope with a documented status."""

from __future__ import annotations

import logging
import sys

import anyio
import httpx
import pytest

from tests.fixtures.oas31 import mount

ENVELOPES = ("loup", "loopkit", "loopat", "lithtrix", "gvnr")


def assert_envelope(api: str, response, status: int, code: str | None = None) -> None:
    """Shape checks per API (from each spec's error schema)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    text = response.text.lower()
    assert "traceback" not in text and "secret internal detail" not in text
    if api == "loup" or api == "loopkit":
        assert set(body) >= {"error", "code"} and isinstance(body["error"], str)
        got = body["code"]
    elif api == "loopat":
        assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message"}
        got = body["error"]["code"]
    elif api == "lithtrix":
        if status == 422:
            assert isinstance(body["detail"], list) and {"loc", "msg", "type"} <= set(body["detail"][0])
            got = body["detail"][0]["type"]
        elif status in (404, 405):
            assert body == {"detail": "Not Found" if status == 404 else "Method Not Allowed"}
            got = None
        else:
            assert body["status"] == "error" and {"error_code", "message"} <= set(body)
            got = body["error_code"]
    else:  # gvnr
        assert isinstance(body["error"], str) and isinstance(body["retryable"], bool) and "hint" in body
        got = body["error"]
    if code is not None:
        assert got == code


@pytest.fixture
def all_envelopes(make_client):
    """The five APIs plus the fixture spec mounted once per envelope (/fx-<api>)."""
    extra = [m for api in ENVELOPES for m in mount(f"fx-{api}", api)]
    import json

    return make_client(extra_apis=json.dumps(extra))


@pytest.mark.parametrize("api", ENVELOPES)
def test_a_scaffolded_operation_answers_501_in_the_apis_envelope(all_envelopes, api):
    r = all_envelopes.get(f"/fx-{api}/pending")
    assert_envelope(api, r, 501, "not_implemented")
    if api == "gvnr":
        assert r.json()["retryable"] is False  # a client must not retry what does not exist yet


VALIDATION = {"loup": 400, "loopkit": 400, "loopat": 400, "lithtrix": 422, "gvnr": 400}


@pytest.mark.parametrize("api", ENVELOPES)
def test_validation_error(all_envelopes, api):
    r = all_envelopes.post(f"/fx-{api}/shapes", json={"kind": "circle", "radius": -1})
    codes = {"loup": "BAD_REQUEST", "loopkit": "invalid_request", "loopat": "invalid_request",
             "lithtrix": None, "gvnr": "invalid_params"}
    assert_envelope(api, r, VALIDATION[api], codes[api])


@pytest.mark.parametrize("api", ENVELOPES)
def test_malformed_json(all_envelopes, api):
    r = all_envelopes.post(f"/fx-{api}/shapes", content=b'{"kind": ', headers={"content-type": "application/json"})
    codes = {"loup": "INVALID_JSON", "loopkit": "invalid_json", "loopat": "invalid_json",
             "lithtrix": "json_invalid", "gvnr": "invalid_json"}
    assert_envelope(api, r, VALIDATION[api], codes[api])


def test_the_app_keeps_a_recursion_limit_the_c_stack_can_hold(client):
    """Some dependencies (py_ecc, via eth_account) raise the limit to 100,000 when imported:
    deeply nested JSON then crashed the process with a segfault instead of a 400."""
    import eth_account  # noqa: F401 - imported by Gvnr's handlers too

    assert sys.getrecursionlimit() <= 1000


@pytest.mark.parametrize("api", ENVELOPES)
def test_json_nested_too_deeply(all_envelopes, api):
    body = b'{"kind": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = all_envelopes.post(f"/fx-{api}/shapes", content=body, headers={"content-type": "application/json"})
    assert_envelope(api, r, VALIDATION[api])


@pytest.mark.parametrize("api", ENVELOPES)
def test_control_characters_in_a_path_parameter(all_envelopes, api):
    for raw in ("a%0Ab", "ab%0D%0A", "a%00b"):
        assert_envelope(api, all_envelopes.get(f"/fx-{api}/items/{raw}"), 404)


@pytest.mark.parametrize("api", ENVELOPES)
def test_null_body_is_validated_not_taken_as_absent(all_envelopes, api):
    r = all_envelopes.post(f"/fx-{api}/shapes", content=b"null", headers={"content-type": "application/json"})
    assert_envelope(api, r, VALIDATION[api])


@pytest.mark.parametrize("api", ENVELOPES)
def test_wrong_content_type(all_envelopes, api):
    r = all_envelopes.post(f"/fx-{api}/shapes", content=b"kind=circle", headers={"content-type": "text/plain"})
    assert_envelope(api, r, VALIDATION[api])


@pytest.mark.parametrize("api", ENVELOPES)
def test_oversized_body(make_client, api):
    client = make_client(extra_apis=__import__("json").dumps(mount(f"fx-{api}", api)), max_body_bytes=1024)
    r = client.post(f"/fx-{api}/shapes", json={"kind": "circle", "radius": 1, "pad": "x" * 5000})
    assert_envelope(api, r, VALIDATION[api])


@pytest.mark.parametrize("declared", ["9" * 5000, "9" * 40], ids=["5000-digits", "40-digits"])
def test_a_declared_length_too_long_for_an_integer_is_an_oversized_body(all_envelopes, declared):
    """A Content-Length past int()'s 4300-digit limit (or any absurd one) is simply too large.
    httpx's ASGITransport sends the header as given (the test client would recompute it)."""
    async def send():
        transport = httpx.ASGITransport(app=all_envelopes.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            request = http.build_request("POST", "/fx-gvnr/shapes", content=b"{}",
                                         headers={"content-type": "application/json"})
            request.headers["Content-Length"] = declared
            return await http.send(request)

    assert_envelope("gvnr", anyio.run(send), VALIDATION["gvnr"])


def _chunked(data: bytes, size: int = 7):
    """A body sent with Transfer-Encoding: chunked (no Content-Length)."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_json_body_is_read_and_validated(all_envelopes):
    r = all_envelopes.post("/fx-gvnr/shapes", content=_chunked(b'{"kind": "square", "side": 3}'),
                           headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json() == {"kind": "square", "area": 9, "side": 3}
    bad = all_envelopes.post("/fx-gvnr/shapes", content=_chunked(b'{"kind": "square", "side": -3}'),
                             headers={"content-type": "application/json"})
    assert_envelope("gvnr", bad, 400, "invalid_params")


@pytest.mark.parametrize("api", ENVELOPES)
def test_oversized_chunked_body(make_client, api):
    client = make_client(extra_apis=__import__("json").dumps(mount(f"fx-{api}", api)), max_body_bytes=1024)
    body = b'{"kind": "circle", "radius": 1, "pad": "' + b"x" * 5000 + b'"}'
    r = client.post(f"/fx-{api}/shapes", content=_chunked(body, 512), headers={"content-type": "application/json"})
    assert_envelope(api, r, VALIDATION[api])


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_deeply_nested_json_is_malformed_not_a_crash(all_envelopes, depth):
    body = b"[" * depth + b"]" * depth
    r = all_envelopes.post("/fx-loup/shapes", content=body, headers={"content-type": "application/json"})
    assert_envelope("loup", r, 400, "INVALID_JSON")


@pytest.mark.parametrize("api", ENVELOPES)
def test_unhandled_exception_is_logged_with_request_id_and_never_leaks(all_envelopes, api, caplog):
    with caplog.at_level(logging.ERROR, logger="pentapi"):
        r = all_envelopes.post(f"/fx-{api}/crash", json={}, headers={"X-Request-ID": f"req-{api}"})
    assert_envelope(api, r, 500)
    assert r.headers["x-request-id"] == f"req-{api}"
    record = next(rec for rec in caplog.records if f"rid=req-{api}" in rec.getMessage())
    assert "secret internal detail" in str(record.exc_info[1])


@pytest.mark.parametrize("api", ENVELOPES)
def test_bad_credentials(all_envelopes, api):
    r = all_envelopes.get(f"/fx-{api}/secure", headers={"Authorization": "Bearer wrong"})
    assert_envelope(api, r, 401, "invalid_key")


# The five real APIs: framework-level failures that no handler influences.
MISSING_CREDENTIALS = {
    "loup": ("GET", "/loup/api/v1/me", "UNAUTHORIZED"),
    "loopkit": ("GET", "/loopkit/v1/telemetry", "unauthorized"),
    "loopat": ("GET", "/loopat/api/v1/loops", "missing_credentials"),
    "lithtrix": ("GET", "/lithtrix/v1/me", "INVALID_API_KEY"),
    "gvnr": ("GET", "/gvnr/v1/account/balance", "missing_api_key"),
}


@pytest.mark.parametrize("api", ENVELOPES)
def test_missing_credentials(client, api):
    method, path, code = MISSING_CREDENTIALS[api]
    assert_envelope(api, client.request(method, path), 401, code)


@pytest.mark.parametrize("api", ENVELOPES)
def test_unknown_route(client, api):
    base = {"loopat": "/loopat/api/v1"}.get(api, f"/{api}")
    codes = {"loup": "NOT_FOUND", "loopkit": "not_found", "loopat": "route_not_found", "lithtrix": None,
             "gvnr": "not_found"}
    assert_envelope(api, client.get(f"{base}/definitely/not/here"), 404, codes[api])


def test_path_parameter_with_a_newline_goes_through_security_like_any_other(client):
    # Mounted routes match a newline as unmounted ones do (server/app.py), so such a request is
    # routed, authenticated and validated by Connexion, never handed to Flask unrouted.
    r = client.get("/gvnr/v1/budget/envelope/a%0Ab", headers={"Authorization": "Bearer bg_" + "0" * 32})
    assert_envelope("gvnr", r, 401)


def test_an_empty_path_parameter_matches_no_operation(client):
    # Connexion's router matches no operation here (werkzeug's rules might); the answer is 404.
    r = client.post("/loopat/api/v1/loops/x/choices/", json={"allow": True}, headers={"Authorization": "Bearer la_x"})
    assert_envelope("loopat", r, 404, "route_not_found")


def test_a_malformed_cookie_header_is_no_credential(client):
    # Connexion's cookie scheme parses the header with http.cookies, which raises on this.
    r = client.get("/loopat/api/v1/me/tokens", headers={"Cookie": "loopat_session=abc; $=x"})
    assert_envelope("loopat", r, 401, "missing_credentials")


@pytest.mark.parametrize("api", ENVELOPES)
def test_wrong_method(client, api):
    method, path, _ = MISSING_CREDENTIALS[api]
    r = client.request("PATCH", path)
    assert_envelope(api, r, 405)
    assert "GET" in r.headers["allow"]


def test_public_validation_on_real_specs(client):
    assert_envelope("loopkit", client.post("/loopkit/v1/provision", json={}), 400, "invalid_request")
    r = client.post("/lithtrix/v1/register", json={"agent_name": 1})
    assert_envelope("lithtrix", r, 422)
    assert ["body", "owner_identifier"] in [d["loc"] for d in r.json()["detail"]]
    assert_envelope("loup", client.get("/loup/api/v1/marketplace/search?limit=1000"), 400, "BAD_REQUEST")


def test_outside_every_api(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
