"""Compressed request bodies (Content-Encoding gzip / deflate), as OTLP exporters send them:
undone before validation; corrupt, oversized-when-inflated or unsupported ones answer in the
owning API's envelope."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from tests.api.test_errors import VALIDATION, assert_envelope
from tests.fixtures.oas31 import mount_json

SHAPE = json.dumps({"kind": "circle", "radius": 2}).encode()


@pytest.fixture
def fixture_api(make_client):
    return make_client(extra_apis=mount_json("fx", "loopkit"), max_body_bytes=4096)


@pytest.mark.parametrize(("encoding", "data"), ids=["gzip", "x-gzip", "deflate", "GZIP", "identity"], argvalues=[
    ("gzip", gzip.compress(SHAPE)),
    ("x-gzip", gzip.compress(SHAPE)),
    ("deflate", zlib.compress(SHAPE)),
    ("GZIP", gzip.compress(SHAPE)),
    ("identity", SHAPE),
])
def test_compressed_bodies_are_validated_and_handled_as_json(fixture_api, encoding, data):
    plain = fixture_api.post("/fx/shapes", content=SHAPE, headers={"content-type": "application/json"})
    r = fixture_api.post("/fx/shapes", content=data,
                         headers={"content-type": "application/json", "content-encoding": encoding})
    assert r.status_code == plain.status_code == 201 and r.json() == plain.json()


def test_compressed_invalid_body_still_fails_validation(fixture_api):
    data = gzip.compress(json.dumps({"kind": "circle", "radius": -1}).encode())
    r = fixture_api.post("/fx/shapes", content=data,
                         headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert_envelope("loopkit", r, 400, "invalid_request")


@pytest.mark.parametrize("api", ["loopkit", "loup", "lithtrix", "gvnr", "loopat"])
def test_corrupt_truncated_bombs_and_unknown_encodings(make_client, api):
    client = make_client(extra_apis=mount_json(f"fx-{api}", api), max_body_bytes=4096)
    url, json_type = f"/fx-{api}/shapes", {"content-type": "application/json"}
    corrupt = client.post(url, content=b"not gzip at all", headers={**json_type, "content-encoding": "gzip"})
    assert_envelope(api, corrupt, VALIDATION[api])
    truncated = client.post(url, content=gzip.compress(SHAPE)[:-6], headers={**json_type, "content-encoding": "gzip"})
    assert_envelope(api, truncated, VALIDATION[api])
    # 40 bytes on the wire, a megabyte inflated: refused at the size limit, never expanded
    bomb = gzip.compress(b"{" + b" " * 1_000_000 + b"}")
    assert len(bomb) < 4096
    too_big = client.post(url, content=bomb, headers={**json_type, "content-encoding": "gzip"})
    assert_envelope(api, too_big, VALIDATION[api])
    unknown = client.post(url, content=SHAPE, headers={**json_type, "content-encoding": "br"})
    assert_envelope(api, unknown, VALIDATION[api])
    if api in ("loopkit", "loup"):
        assert "br" in unknown.json()["error"] and "too large" not in corrupt.json()["error"]
