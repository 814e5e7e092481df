"""Loup under `pentapi serve` (gunicorn, two uvicorn workers): the admin commands build the
data, and the exact counters (rate windows, invocation counts) hold across processes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from handlers.loup import provisioning as prov
from server.settings import Settings
from storage import db
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
P = "/loup/api/v1"


def admin(data_dir: Path, *args: str) -> dict:
    """Run `pentapi loup ...` against `data_dir` and parse its JSON answer."""
    env = {**os.environ, "PENTAPI_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "loup", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_demo_marketplace_end_to_end(serve, tmp_path):
    data_dir = tmp_path / "serve0"  # where the first `serve` keeps its data
    seeded = admin(data_dir, "seed", "demo")
    assert seeded["packs"] >= 10
    server = serve()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        hits = http.get(f"{P}/marketplace/search", params={"q": "invoice reminders"}).json()[
            "results"
        ]
        assert hits[0]["slug"] == "invoice-chaser"
        me = http.get(f"{P}/me", headers={"Authorization": f"Bearer {seeded['creator_key']}"})
        assert me.status_code == 200 and me.headers["X-RateLimit-Remaining"]
        token = {"Authorization": f"Bearer {seeded['install_token']}"}
        r = http.get(f"{P}/skills/download", headers=token)
        assert r.status_code == 200 and r.headers["x-loup-version"] == "1.4.2"
        assert hashlib.sha256(r.content).hexdigest() == r.headers["x-content-sha256"]
        with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as archive:
            assert "SKILL.md" in archive.getnames()
        news = http.get(f"{P}/runtime/whats-new", headers=token).json()["data"]
        assert [i["title"] for i in news["items"]] == ["v1.4.2", "v1.4.1"]
        assert (
            http.post(f"{P}/runtime/invoke", json={"prompt": "hi"}, headers=token).status_code
            == 410
        )


def _marketplace(data_dir: Path, hosted: bool = False) -> dict:
    creator = admin(data_dir, "creator", "create", "selr-ai")
    key = admin(
        data_dir, "key", "mint", creator["id"], "--scope", "read:installs", "--scope", "read:usage"
    )
    pack = admin(
        data_dir,
        "pack",
        "create",
        creator["id"],
        "writer",
        "Writer",
        *(["--hosted-runtime"] if hosted else []),
    )
    source = data_dir.parent / "source"
    source.mkdir(exist_ok=True)
    (source / "SKILL.md").write_text("# Writer\n")
    admin(data_dir, "version", "publish", pack["id"], "1.0.0", str(source), "--changelog", "First")
    install = admin(data_dir, "install", "create", pack["id"])
    token = admin(data_dir, "token", "mint", install["id"])
    return {
        "key": key["key"],
        "token": token["token"],
        "pack": pack["id"],
        "install": install["id"],
    }


def test_rate_limit_is_exact_across_workers(serve, tmp_path):
    made = _marketplace(tmp_path / "serve0")
    server = serve(env={"LOUP_RATE_LIMIT_KEY": "25", "LOUP_RATE_WINDOW_SECONDS": "3600"})
    headers = {"Authorization": f"Bearer {made['key']}"}
    with httpx.Client(base_url=server.url, timeout=30) as http, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: http.get(f"{P}/me", headers=headers), range(60)))
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 25 and codes.count(429) == 35
    remaining = sorted(
        int(a.headers["X-RateLimit-Remaining"]) for a in answers if a.status_code == 200
    )
    assert remaining == list(range(25))  # every count handed out exactly once
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)


def test_invocation_counts_are_exact_across_workers(serve, tmp_path):
    made = _marketplace(tmp_path / "serve0", hosted=True)
    server = serve()
    token = {"Authorization": f"Bearer {made['token']}"}
    with httpx.Client(base_url=server.url, timeout=30) as http, ThreadPoolExecutor(12) as pool:
        answers = list(
            pool.map(
                lambda i: http.post(f"{P}/runtime/invoke", json={"prompt": f"p{i}"}, headers=token),
                range(40),
            )
        )
        assert [a.status_code for a in answers] == [200] * 40
        creator = {"Authorization": f"Bearer {made['key']}"}
        installs = http.get(f"{P}/installs", headers=creator).json()["data"]
        assert installs[0]["invocation_count"] == 40
        usage = http.get(f"{P}/usage", params={"limit": 1000}, headers=creator).json()["data"]
        kinds = [e["event_type"] for e in usage]
        assert kinds.count("skill.invoked") == 40 and kinds.count("skill.success") == 40


def test_paging_while_another_process_inserts(serve, tmp_path):
    data_dir = tmp_path / "serve0"
    made = _marketplace(data_dir)
    # This test process is the other writer: it binds the server's database file directly.
    db.bind(Settings().replace(data_dir=data_dir, database_url="").resolved_database_url)
    for _ in range(29):
        prov.create_install(made["pack"])
    server = serve()
    creator = {"Authorization": f"Bearer {made['key']}"}
    stop = threading.Event()
    inserted: list[str] = []

    def insert_until_stopped() -> None:
        # Another process than the server's workers writes to the same database while we page.
        with db.database.connection_context():
            while not stop.is_set():
                inserted.append(prov.create_install(made["pack"]).id)

    with httpx.Client(base_url=server.url, timeout=30) as http:
        before = {
            i["id"]
            for i in http.get(f"{P}/installs", params={"limit": 100}, headers=creator).json()[
                "data"
            ]
        }
        writer = threading.Thread(target=insert_until_stopped)
        writer.start()
        try:
            seen, cursor = [], None
            while True:
                params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
                body = http.get(f"{P}/installs", params=params, headers=creator).json()
                seen += [i["id"] for i in body["data"]]
                cursor = body["next_cursor"]
                if cursor is None:
                    break
        finally:
            stop.set()
            writer.join()
    assert len(seen) == len(set(seen)), "repeated"
    assert before <= set(seen), "skipped"
    assert inserted  # the writer really ran while we paged


def test_slow_downloads_do_not_starve_other_requests(serve, tmp_path):
    """More stalled downloads than a worker has WSGI threads (10): downloads run natively on
    the event loop, so ordinary requests on the same (single) worker are still answered."""
    data_dir = tmp_path / "serve0"
    made = _marketplace(data_dir)
    big = data_dir.parent / "big"
    big.mkdir()
    (big / "weights.bin").write_bytes(os.urandom(4 * 1024 * 1024))  # incompressible: stays large
    admin(data_dir, "version", "publish", made["pack"], "2.0.0", str(big), "--changelog", "Big")
    server = serve(workers=1)
    token = {"Authorization": f"Bearer {made['token']}"}
    creator = {"Authorization": f"Bearer {made['key']}"}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        stalled = []
        try:
            for _ in range(16):
                stream = http.stream("GET", f"{P}/skills/download", headers=token)
                response = stream.__enter__()
                assert response.status_code == 200
                next(response.iter_raw(16 * 1024))  # read a little, then stop reading
                stalled.append(stream)
            for _ in range(5):
                assert http.get(f"{P}/me", headers=creator).status_code == 200
                assert http.get(f"{P}/installs", headers=creator).status_code == 200
        finally:
            for stream in stalled:
                stream.__exit__(None, None, None)
        # None of those transfers finished, so none counts as installed.
        installs = http.get(f"{P}/installs", headers=creator).json()["data"]
        assert installs[0]["installed_version"] is None
