"""Every error kind answers in the owning API's envelope with a documented status."""

from __future__ import annotations

import logging

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


@pytest.mark.parametrize("api", ENVELOPES)
def test_wrong_content_type(all_envelopes, api):
    r = all_envelopes.post(f"/fx-{api}/shapes", content=b"kind=circle", headers={"content-type": "text/plain"})
    assert_envelope(api, r, VALIDATION[api])


@pytest.mark.parametrize("api", ENVELOPES)
def test_oversized_body(make_client, api):
    client = make_client(extra_apis=__import__("json").dumps(mount(f"fx-{api}", api)), max_body_bytes=1024)
    r = client.post(f"/fx-{api}/shapes", json={"kind": "circle", "radius": 1, "pad": "x" * 5000})
    assert_envelope(api, r, VALIDATION[api])


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


@pytest.mark.parametrize("path", ["/loopat/api/v1/loops/x/choices/%0A", "/loopat/api/v1/loops/x/choices/",
                                  "/loopat/api/v1/loops/%0A/interrupt"])
def test_a_path_no_operation_matches_is_404_even_where_flask_would_match(client, path):
    # Starlette's router (Connexion) matched nothing here; werkzeug's rules would match the
    # first one and run the view outside any operation context (a 500 before).
    r = client.post(path, json={"allow": True}, headers={"Authorization": "Bearer la_x"})
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
