"""Lithtrix under `pentapi serve` (gunicorn, two uvicorn workers): exact quota and rate counters
at the boundary across processes, a fresh server answering from its sample corpus, the index
command feeding a running server, and the cache shared by both workers on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api.lithtrix.standins import RedisServer
from tests.conftest import REPO
from tests.e2e.workers import EXPOSE_WORKER, burst, served_by

pytestmark = pytest.mark.e2e
P = "/lithtrix"


def register(http: httpx.Client, name: str = "served-agent") -> dict[str, str]:
    r = http.post(f"{P}/v1/register", json={"agent_name": name, "owner_identifier": "e2e@example.com"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['api_key']}"}


def test_the_free_cap_is_exact_across_workers_at_the_boundary(serve):
    server = serve(env={"LITHTRIX_FREE_TIER_LIFETIME_LIMIT": "25", "LITHTRIX_RATE_LIMIT_FREE": "100000",
                        **EXPOSE_WORKER})
    with httpx.Client(base_url=server.url, timeout=30) as http:
        headers = register(http)
        for i in range(20):  # walk up to five below the cap
            assert http.get(f"{P}/v1/search", params={"q": f"liberty {i}"}, headers=headers).status_code == 200
        responses = burst(server.url, 40,
                          lambda c, i: c.get(f"{P}/v1/search", params={"q": f"union {i}"}, headers=headers))
        assert len(served_by(responses)) == 2  # both processes took part
        answers = [r.json() for r in responses]
        counted = sorted(a["usage"]["calls_total"] for a in answers if "error_code" not in a)
        assert counted == [21, 22, 23, 24, 25]
        refused = [a for a in answers if a.get("error_code") == "OVER_LIMIT"]
        assert len(refused) == 35 and all(a["results"] == [] and a["usage"]["over_limit"] for a in refused)
        billing = http.get(f"{P}/v1/billing", headers=headers).json()
        assert billing["calls_total"] == 25 and billing["over_limit"] is True
        assert http.get(f"{P}/v1/usage", headers=headers).json()["calls_this_month"] == 25


def test_the_rate_window_is_exact_across_workers(serve):
    server = serve(env={"LITHTRIX_RATE_LIMIT_FREE": "15", "LITHTRIX_RATE_WINDOW_SECONDS": "3600", **EXPOSE_WORKER})
    with httpx.Client(base_url=server.url, timeout=30) as http:
        headers = register(http)
        answers = burst(server.url, 40,
                        lambda c, i: c.get(f"{P}/v1/search", params={"q": f"moon {i}"}, headers=headers))
        assert len(served_by(answers)) == 2  # both processes took part
        codes = [a.status_code for a in answers]
        assert codes.count(200) == 15 and codes.count(429) == 25
        remaining = sorted(int(a.headers["X-RateLimit-Remaining"]) for a in answers if a.status_code == 200)
        assert remaining == list(range(15))
        assert http.get(f"{P}/v1/billing", headers=headers).json()["calls_total"] == 15


def test_a_fresh_server_answers_from_its_sample_corpus(serve):
    server = serve()
    with httpx.Client(base_url=server.url, timeout=30) as http, ThreadPoolExecutor(10) as pool:
        headers = register(http)
        # Both workers open the new index at once; the sample is loaded exactly once.
        answers = list(pool.map(lambda i: http.get(f"{P}/v1/search", params={"q": "Bill of Rights", "num_results": i},
                                                   headers=headers).json(), range(1, 11)))
        assert not any(a["cached"] for a in answers)  # a different page size each: all misses
        assert {a["results"][0]["url"] for a in answers} == {
            "https://www.archives.gov/founding-docs/bill-of-rights-transcript"}
        caps = http.get(f"{P}/v1/capabilities").json()
        assert caps["search"]["provider"] == "local"
    import sqlite3

    conn = sqlite3.connect(server.log.parent / "lithtrix" / "index.sqlite3")
    assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 51
    conn.close()


def test_pages_indexed_by_the_command_are_served(serve, tmp_path):
    server = serve()
    data_dir = server.log.parent
    pages = tmp_path / "pages.jsonl"
    pages.write_text(json.dumps({"url": "https://www.noaa.gov/xq", "title": "Tide tables",
                                 "text": "Tide tables for the Chesapeake shoreline", "published_date": "2025-03-01"}))
    with httpx.Client(base_url=server.url, timeout=30) as http:
        headers = register(http)
        before = http.get(f"{P}/v1/search", params={"q": "Chesapeake"}, headers=headers).json()
        assert before["results"] == []
        done = subprocess.run([sys.executable, "-m", "server.cli", "lithtrix", "index", str(pages)], cwd=REPO,
                              env={**os.environ, "PENTAPI_DATA_DIR": str(data_dir)}, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["cache_entries_cleared"] == 1  # the empty answer above
        after = http.get(f"{P}/v1/search", params={"q": "Chesapeake"}, headers=headers).json()
        assert after["cached"] is False
        assert after["results"][0] == {"title": "Tide tables", "url": "https://www.noaa.gov/xq",
                                       "snippet": "Tide tables for the Chesapeake shoreline",
                                       "source": "www.noaa.gov", "credibility_score": 1.0,
                                       "published_date": "2025-03-01"}


def test_one_registration_wins_across_workers(serve):
    server = serve(env=EXPOSE_WORKER)
    body = {"agent_name": "twin", "owner_identifier": "race@example.com"}
    responses = burst(server.url, 12, lambda c, _: c.post(f"{P}/v1/register", json=body), per_worker=6)
    assert len(served_by(responses)) == 2  # both processes took part
    assert sorted(r.status_code for r in responses) == [200] + [409] * 11


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_both_workers_share_the_cache(serve, backend):
    redis_server = RedisServer() if backend == "redis" else None
    try:
        env = {"REDIS_URL": redis_server.url, **EXPOSE_WORKER} if redis_server else EXPOSE_WORKER
        server = serve(env=env)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            headers = register(http)
            computed = http.get(f"{P}/v1/search", params={"q": "Gettysburg"}, headers=headers)
        served = burst(server.url, 12, lambda c, _: c.get(f"{P}/v1/search", params={"q": "gettysburg"},
                                                          headers=headers), per_worker=2)
        # both workers answered from the cache, the one that did not compute the answer too
        assert len(served_by(served)) == 2 and served_by([computed]) < served_by(served)
        first, repeats = computed.json(), [r.json() for r in served]
        assert first["cached"] is False and all(r["cached"] for r in repeats)
        assert all(r["results"] == first["results"] for r in repeats)
        if redis_server:
            assert len(redis_server.client.keys("lithtrix:search:v1:*")) == 1
    finally:
        if redis_server:
            redis_server.stop()
