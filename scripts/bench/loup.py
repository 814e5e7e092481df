"""Loup benchmark: snapshot download throughput and worker memory for a 100 MB snapshot, and
marketplace search latency over 10,000 packs. `python -m scripts.bench.loup`.

Download: one worker serves a 100 MB (incompressible) snapshot; the client streams it and
checks the sha256. The worker's RSS is sampled from /proc every 10 ms while it streams, so
"peak" is what streaming costs on top of an idle worker (it must stay flat: the file is read
in LOUP_DOWNLOAD_CHUNK_BYTES chunks, never whole). Then four downloads at once.

Search: 10,000 public packs with generated names and descriptions (FTS5 index filled by the
triggers); p50/p99 measured three ways: the query alone in-process, one client sequentially
over HTTP, and wrk under load (-c32) with the query varied per request.
Results go to docs/bench/loup.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from scripts.bench.harness import RESULTS, Case, pentapi_server, run_cases

P = "/loup/api/v1"
HIGH_LIMITS = {
    "LOUP_RATE_LIMIT_KEY": "100000000",
    "LOUP_RATE_LIMIT_TOKEN": "100000000",
    "LOUP_RATE_LIMIT_SEARCH": "100000000",
}
WORDS = (
    "voice writer content linkedin newsletter ledger invoice bookkeeping support triage refund "
    "policy sales outbound email seo brief podcast notes review code incident postmortem recruiting "
    "interview onboarding legal contract summary research market pricing analytics dashboard "
    "translation spanish japanese tutor math physics workshop prompt agent slack telegram notion "
    "calendar meeting minutes tax compliance security audit product roadmap design critique"
).split()
QUERIES = [
    "voice writer",
    "invoice",
    "support triage",
    "seo brief",
    "podcast",
    "incident postmortem",
    "legal contract summary",
    "tutor math",
    "slack",
    "research market pricing",
    "xyzzy",
    "pro",
]


def _provision(data_dir: Path, snapshot_mb: int, packs: int) -> dict[str, str]:
    """Create the data before the server starts (its master finds the schema already there)."""
    from handlers.loup import provisioning as prov
    from server.settings import Settings
    from storage import all_models, db
    from storage.loup import Creator, Pack

    settings = Settings().replace(data_dir=data_dir, database_url="")
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    creator = prov.create_creator("bench-co", "Bench Co")
    _, key = prov.mint_key(creator.id, ["read:installs", "read:usage"])
    pack = prov.create_pack(creator.id, "big-pack", "Big Pack", "A 100 MB snapshot.")
    source = data_dir / "big-source"
    source.mkdir(parents=True)
    with (source / "blob.bin").open("wb") as out:
        for _ in range(snapshot_mb):
            out.write(os.urandom(1024 * 1024))  # incompressible: the tarball stays ~snapshot_mb
    version = prov.publish_version(settings, pack.id, "1.0.0", source)
    (source / "blob.bin").unlink()
    install = prov.create_install(pack.id)
    _, token = prov.mint_install_token(install.id)

    rng = random.Random(7)
    creators = [{"id": prov.new_id("acc_"), "handle": f"creator-{i}", "name": f"Creator {i}"} for i in range(500)]
    rows = []
    for i in range(packs):
        words = rng.sample(WORDS, 3)
        rows.append(
            {
                "id": prov.new_id("pck_"),
                "creator": creators[i % len(creators)]["id"],
                "slug": f"{'-'.join(words)}-{i}",
                "name": " ".join(w.title() for w in words),
                "description": " ".join(rng.choices(WORDS, k=14)).capitalize() + ".",
                "pricing_model": rng.choice(("subscription", "one_off", "free")),
            }
        )
    with db.write():
        Creator.insert_many(creators).execute()
        for start in range(0, len(rows), 500):
            Pack.insert_many(rows[start : start + 500]).execute()
    db.database.close()
    return {"token": token, "key": key, "sha256": version.sha256, "size": str(version.size_bytes)}


def _ppid(pid: str) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _worker_pids(port: int) -> list[int]:
    """The uvicorn workers of the server started with PENTAPI_PORT=<port>: processes that carry
    that environment (master and its forks) whose parent is one of them too."""
    family = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (
                f"PENTAPI_PORT={port}".encode() in (entry / "environ").read_bytes().split(b"\0")
                and b"server.cli" in (entry / "cmdline").read_bytes()
            ):
                family[int(entry.name)] = _ppid(entry.name)
        except OSError:
            continue
    return [pid for pid, parent in family.items() if parent in family]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples the summed RSS of some processes every 10 ms in a thread; keeps the peak."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak, self._stop = pids, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_rss_mb(p) for p in self.pids))
            time.sleep(0.01)

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def _download(url: str, token: str) -> tuple[float, int, str]:
    sha, size = hashlib.sha256(), 0
    started = time.perf_counter()
    with httpx.stream(
        "GET", f"{url}{P}/skills/download", headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as r:
        r.raise_for_status()
        expected = r.headers["x-content-sha256"]
        for chunk in r.iter_bytes(1024 * 1024):
            sha.update(chunk)
            size += len(chunk)
    assert sha.hexdigest() == expected, "digest mismatch"
    return time.perf_counter() - started, size, expected


def bench_download(url: str, port: int, token: str) -> dict:
    pids = _worker_pids(port)
    # Warm the worker (imports, first connection) with a small request first.
    httpx.get(f"{url}{P}/runtime/installs", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    idle = sum(_rss_mb(p) for p in pids)
    runs = []
    with RssSampler(pids) as sampler:
        for _ in range(3):
            seconds, size, _ = _download(url, token)
            runs.append({"seconds": round(seconds, 3), "mb_per_s": round(size / 1e6 / seconds, 1)})
    single_peak = sampler.peak
    with RssSampler(pids) as sampler, ThreadPoolExecutor(4) as pool:
        started = time.perf_counter()
        sizes = [s for _, s, _ in pool.map(lambda _: _download(url, token), range(4))]
        concurrent_seconds = time.perf_counter() - started
    return {
        "snapshot_bytes": size,
        "workers": len(pids),
        "sequential": runs,
        "median_mb_per_s": statistics.median(r["mb_per_s"] for r in runs),
        "worker_rss_idle_mb": round(idle, 1),
        "worker_rss_peak_mb_single": round(single_peak, 1),
        "worker_rss_growth_mb_single": round(single_peak - idle, 1),
        "concurrent_4": {
            "seconds": round(concurrent_seconds, 2),
            "aggregate_mb_per_s": round(sum(sizes) / 1e6 / concurrent_seconds, 1),
            "worker_rss_peak_mb": round(sampler.peak, 1),
            "worker_rss_growth_mb": round(sampler.peak - idle, 1),
        },
    }


def _percentiles(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "p50_ms": round(ordered[len(ordered) // 2], 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


def bench_search_inprocess(data_dir: Path, rounds: int) -> dict:
    from handlers.loup import search
    from server.settings import Settings
    from storage import db

    db.bind(Settings().replace(data_dir=data_dir, database_url="").resolved_database_url)
    samples = []
    with db.database.connection_context():
        for i in range(rounds):
            started = time.perf_counter()
            search.search(QUERIES[i % len(QUERIES)], 12)
            samples.append((time.perf_counter() - started) * 1000)
    return _percentiles(samples)


def bench_search_http(url: str, rounds: int) -> dict:
    samples = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(rounds):
            started = time.perf_counter()
            r = http.get(f"{P}/marketplace/search", params={"q": QUERIES[i % len(QUERIES)]})
            samples.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200
    return _percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshot-mb", type=int, default=100)
    parser.add_argument("--packs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-loup-"))
    made = _provision(data_dir, args.snapshot_mb, args.packs)
    results: dict = {}
    with pentapi_server(workers=1, data_dir=data_dir, env=HIGH_LIMITS) as url:
        port = int(url.rsplit(":", 1)[1])
        results["download"] = bench_download(url, port, made["token"])
        results["search_http_sequential"] = bench_search_http(url, args.rounds)
    results["search_query_inprocess"] = bench_search_inprocess(data_dir, args.rounds)

    queries = ", ".join(json.dumps(q) for q in QUERIES)
    lua = (
        "local queries = {" + queries + "}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        f"  local q = string.gsub(queries[(i % #queries) + 1], ' ', '%%20')\n"
        f"  return wrk.format(nil, '{P}/marketplace/search?q=' .. q)\nend\n"
    )
    with pentapi_server(workers=2, data_dir=data_dir, env=HIGH_LIMITS) as url:
        report = run_cases(
            "loup",
            [Case("search-10k-packs", f"{url}{P}/marketplace/search?q=voice", lua=lua)],
            connections=args.connections,
            duration=args.duration,
            notes=f"{args.packs} public packs; query varied over {len(QUERIES)} terms; "
            "2 workers; rate limits raised so no 429s",
        )
    report.update(results)
    (RESULTS / "loup.json").write_text(json.dumps(report, indent=2) + "\n")
    d = results["download"]
    print(
        f"loup/download {d['snapshot_bytes'] / 1e6:.0f} MB: {d['median_mb_per_s']} MB/s; worker RSS idle "
        f"{d['worker_rss_idle_mb']} MB, peak {d['worker_rss_peak_mb_single']} MB "
        f"(+{d['worker_rss_growth_mb_single']}); 4 at once: +{d['concurrent_4']['worker_rss_growth_mb']} MB"
    )
    for name in ("search_query_inprocess", "search_http_sequential"):
        s = results[name]
        print(f"loup/{name}: p50 {s['p50_ms']} ms p99 {s['p99_ms']} ms (n={s['n']})")


if __name__ == "__main__":
    main()
