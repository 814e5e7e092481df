"""Server-owned routes and mounting: /healthz, documents, docs pages, request ids, single-API mode."""

from __future__ import annotations

import logging

import pytest

from server.apis import APIS


def test_healthz_reports_database(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(client, settings):
    import shutil

    from storage import db

    shutil.rmtree(settings.data_dir)  # the database file and its directory are gone
    db.database.close_idle()  # as the pool does past stale_timeout: new connections must open the file
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json() == {"status": "degraded", "database": "unreachable"}


@pytest.mark.parametrize("api", sorted(APIS))
def test_each_api_serves_its_document_and_docs(client, api):
    base = APIS[api].base_path(combined=True)
    doc = client.get(f"{base}/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": base}]
    own = {path: {k: v for k, v in item.items() if k != "servers"} for path, item in doc["paths"].items()}
    assert own == {path: {k: v for k, v in item.items() if k != "servers"}
                   for path, item in APIS[api].document["paths"].items()}
    page = client.get(f"{base}/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert f'"{base}/openapi.json"' in page.text


@pytest.mark.parametrize(("api", "prefix"), [(None, "/loopat"), ("loopat", "")])
def test_path_level_servers_mount_beside_the_spec_server(make_client, api, prefix):
    """OpenAPI 3.1 path-level `servers`: loopat's /auth/login declares /api, so it is served at
    <prefix>/api/auth/login (not under /api/v1), the served document says so, and errors there
    still answer in loopat's envelope."""
    client = make_client(api=api)
    doc = client.get(f"{prefix}/api/v1/openapi.json").json()
    assert doc["paths"]["/auth/login"]["servers"][0]["url"] == f"{prefix}/api"
    r = client.post(f"{prefix}/api/auth/login", json={"username": "nobody", "password": "wrong password"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    assert client.post(f"{prefix}/api/v1/auth/login", json={}).status_code == 404
    r = client.post(f"{prefix}/api/auth/login", json={"username": 1})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = client.get(f"{prefix}/api/auth/login")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and set(r.json()) == {"error"}


def test_swagger_ui_assets_are_served(client):
    r = client.get("/_static/swagger-ui/swagger-ui-bundle.js")
    assert r.status_code == 200 and len(r.content) > 100_000
    assert client.get("/_static/../server/app.py").status_code == 404


def test_index_lists_the_mounts(client):
    apis = client.get("/").json()["apis"]
    assert apis["loopat"]["base_path"] == "/loopat/api/v1"
    assert set(apis) == set(APIS)


def test_request_id_is_echoed_or_minted(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    minted = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert len(minted) == 32 and " " not in minted


@pytest.mark.parametrize(
    ("api", "path", "document"),
    [("loopat", "/api/v1/loops", "/api/v1/openapi.json"), ("gvnr", "/v1/account/balance", "/openapi.json"),
     ("loup", "/api/v1/me", "/openapi.json"), ("lithtrix", "/v1/me", "/openapi.json"),
     ("loopkit", "/v1/telemetry", "/openapi.json")],
)
def test_single_api_mode_serves_the_specs_own_paths(make_client, api, path, document):
    client = make_client(api=api)
    assert client.get(path).status_code == 401
    assert client.get(f"/{api}{path}").status_code == 404
    assert client.get(document).json()["info"] == APIS[api].document["info"]
    # errors outside the API's paths still answer in its envelope
    body = client.get("/no/such/route").json()
    assert body == {"detail": "Not Found"} if api == "lithtrix" else "error" in body


def test_access_log_cannot_be_forged_by_an_encoded_newline(client, caplog):
    with caplog.at_level(logging.INFO, logger="pentapi.access"):
        client.get("/loup/x%0A2026-12-01%20FAKE%20ERROR%20injected")
    lines = [r.getMessage() for r in caplog.records if r.name == "pentapi.access"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "/loup/x%0A2026-12-01%20FAKE" in lines[0]


@pytest.mark.parametrize("odd, plain", [
    ("/gvnr/v1/packs/s%0Af/info", "/gvnr/v1/packs/nope/info"),  # 400 invalid_pack
    ("/gvnr/approve/a%0Ab", "/gvnr/approve/nope"),  # the page's own HTML 404
    ("/loup/api/v1/installs%00", "/loup/api/v1/installsx"),  # no such route
])
def test_control_characters_in_a_path_are_answered_like_any_other_unknown_value(client, odd, plain):
    """Routed, validated and answered by the operation like any other value; never a 500."""
    got, expected = client.get(odd), client.get(plain)
    assert (got.status_code, got.headers["content-type"]) == (expected.status_code, expected.headers["content-type"])
    assert got.status_code < 500
