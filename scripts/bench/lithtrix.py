"""Lithtrix benchmark: search latency on a 100,000-document local index, cached vs uncached.
`python -m scripts.bench.lithtrix [--docs N] [--redis]`.

The documents are generated here: a 12,000-word synthetic vocabulary drawn with Zipf-like
frequencies (so some words are in most pages and most words in few), 6-word titles and
~120-word bodies, URLs spread over .gov/.edu/.org/.com and news hosts. They go into the index
through the same code as `pentapi lithtrix index` (batches of 2,000 per transaction).

Then `pentapi serve` (2 workers) answers GET /lithtrix/v1/search for a pro agent (no cap;
rate limits raised) and p50/p99 are measured:

* uncached: every request a query never asked before (two vocabulary words), so each one
  runs the provider (phrase, all-words and any-word tiers), counts the call, logs it and
  writes the cache;
* cached: a fixed set of queries, asked once to warm the cache, then repeated: each request
  is a cache read plus the counting and logging;

each sequentially from one client (latency) and under wrk load (-c16, 10 s; throughput and
latency under contention). The provider alone is timed in-process too. With --redis the
cached runs repeat against a real redis-server. Results go to docs/bench/lithtrix.json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from scripts.bench.harness import RESULTS, Case, pentapi_server, run_cases

P = "/lithtrix"
HIGH_LIMITS = {"LITHTRIX_RATE_LIMIT_FREE": "100000000", "LITHTRIX_RATE_LIMIT_PRO": "100000000"}
HOSTS = ("www.{w}.gov", "{w}.edu", "www.{w}.org", "www.{w}.com", "news.{w}.com", "www.reuters.com")


def vocabulary(rng: random.Random, size: int = 12_000) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def documents(n: int, words: list[str], rng: random.Random):
    from handlers.lithtrix.local_index import Document

    # Zipf-like: the k-th word is drawn with weight 1/k.
    weights = [1.0 / (k + 1) for k in range(len(words))]
    for i in range(n):
        body = rng.choices(words, weights=weights, k=rng.randint(80, 160))
        title = " ".join(rng.choices(words, weights=weights, k=6)).title()
        host = HOSTS[i % len(HOSTS)].format(w=words[i % 3000])
        yield Document(url=f"https://{host}/pages/{i}", title=title, text=" ".join(body) + ".",
                       published_date=f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}")


def build(data_dir: Path, n: int, index: Path | None) -> tuple[Path, dict, list[str]]:
    """The index (reused when `index` already holds one) and a pro agent's key."""
    from handlers.lithtrix import agents, local_index
    from server.settings import Settings
    from storage import all_models, db
    from storage.lithtrix import Agent

    rng = random.Random(6)
    words = vocabulary(rng)
    index = index or data_dir / "lithtrix" / "index.sqlite3"
    started = time.perf_counter()
    if not index.exists():
        local_index.add_documents(index, documents(n, words, rng), batch=2000, sample=False)
    seconds = time.perf_counter() - started
    settings = Settings().replace(data_dir=data_dir, database_url="")
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    with db.database.connection_context():
        agent, key = agents.register(settings, "bench-agent", "bench@example.com")
        with db.write():
            Agent.update(tier="pro").where(Agent.id == agent.id).execute()
    db.database.close()
    size = index.stat().st_size + sum(p.stat().st_size for p in index.parent.glob("index.sqlite3-*"))
    return index, {"documents": local_index.count(index), "build_seconds": round(seconds, 1),
                   "index_mb": round(size / 1e6, 1), "key": key}, words


def queries(words: list[str], count: int, seed: int) -> list[str]:
    """Two-word queries over the vocabulary's middle band (words in tens to hundreds of pages)."""
    rng = random.Random(seed)
    band = words[200:6000]
    return [f"{rng.choice(band)} {rng.choice(band)}" for _ in range(count)]


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(ordered[len(ordered) // 2], 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}


def sequential(url: str, key: str, asked: list[str], expect_cached: bool) -> dict:
    samples, server_ms = [], []
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as http:
        for q in asked:
            started = time.perf_counter()
            r = http.get(f"{P}/v1/search", params={"q": q})
            samples.append((time.perf_counter() - started) * 1000)
            body = r.json()
            assert r.status_code == 200 and body["cached"] is expect_cached, (q, r.text[:200])
            server_ms.append(body["response_time_ms"])
    return {**_percentiles(samples), "server_p50_ms": sorted(server_ms)[len(server_ms) // 2]}


def inprocess(index: Path, asked: list[str]) -> dict:
    from handlers.lithtrix import local_index

    samples, found = [], 0
    for q in asked:
        started = time.perf_counter()
        found += len(local_index.search(index, q, 10))
        samples.append((time.perf_counter() - started) * 1000)
    return {**_percentiles(samples), "mean_results": round(found / len(asked), 1)}


def wrk_lua(words: list[str], fixed: list[str] | None) -> str:
    """wrk script: unique two-word queries per request (per-thread counters), or a fixed cycle."""
    if fixed:
        listed = ", ".join(json.dumps(q.replace(" ", "%20")) for q in fixed)
        return (f"local queries = {{{listed}}}\nlocal i = 0\n"
                "request = function()\n  i = i + 1\n"
                f"  return wrk.format(nil, '{P}/v1/search?q=' .. queries[(i % #queries) + 1])\nend\n")
    band = ", ".join(json.dumps(w) for w in words[200:6000])
    return (
        "local counter = 1\nfunction setup(thread)\n  thread:set('id', counter)\n  counter = counter + 1\nend\n"
        f"local words = {{{band}}}\nlocal i = 0\nlocal id = 0\n"
        "function init(args)\n  id = wrk.thread:get('id')\nend\n"
        # n < #words^2 never repeats a pair; threads start a million apart
        "request = function()\n  i = i + 1\n  local n = id * 1000003 + i\n"
        "  local a = words[(n % #words) + 1]\n  local b = words[(math.floor(n / #words) % #words) + 1]\n"
        f"  return wrk.format(nil, '{P}/v1/search?q=' .. a .. '%20' .. b)\nend\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--redis", action="store_true", help="also measure the cached runs on a real redis-server")
    parser.add_argument("--index", type=Path, help="build the index here and keep it; reused when it exists")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-lithtrix-"))
    index, built, words = build(data_dir, args.docs, args.index)
    key = built.pop("key")
    print(f"lithtrix/index: {built['documents']} documents in {built['build_seconds']} s, {built['index_mb']} MB")
    results: dict = {"index": built}
    fresh = queries(words, args.rounds, seed=1)
    repeated = queries(words, 50, seed=2)
    results["provider_inprocess_uncached"] = inprocess(index, queries(words, args.rounds, seed=3))
    env = {**HIGH_LIMITS, "LITHTRIX_INDEX_PATH": str(index)}
    headers = {"Authorization": f"Bearer {key}"}
    with pentapi_server(workers=2, data_dir=data_dir, env=env) as url:
        sequential(url, key, repeated, expect_cached=False)  # warm the cache (and both workers)
        results["http_sequential_uncached"] = sequential(url, key, fresh, expect_cached=False)
        results["http_sequential_cached"] = sequential(url, key, repeated * (args.rounds // len(repeated)),
                                                       expect_cached=True)
        report = run_cases(
            "lithtrix",
            [Case("search-uncached-100k", f"{url}{P}/v1/search?q=x", headers=headers, lua=wrk_lua(words, None)),
             Case("search-cached-100k", f"{url}{P}/v1/search?q=x", headers=headers, lua=wrk_lua(words, repeated))],
            connections=args.connections, duration=args.duration,
            notes=f"{built['documents']} synthetic documents; 2 workers; pro agent, rate limits raised; uncached: "
            "a new two-word query per request; cached: 50 warmed queries cycled; SQLite cache",
        )
    if args.redis and shutil.which("redis-server"):
        from tests.api.lithtrix.standins import RedisServer

        redis_server = RedisServer()
        try:
            with pentapi_server(workers=2, data_dir=data_dir, env={**env, "REDIS_URL": redis_server.url}) as url:
                sequential(url, key, repeated, expect_cached=False)
                results["http_sequential_cached_redis"] = sequential(
                    url, key, repeated * (args.rounds // len(repeated)), expect_cached=True)
        finally:
            redis_server.stop()
    report.update(results)
    (RESULTS / "lithtrix.json").write_text(json.dumps(report, indent=2) + "\n")
    for name, value in results.items():
        if "p50_ms" in value:
            print(f"lithtrix/{name}: p50 {value['p50_ms']} ms p99 {value['p99_ms']} ms (n={value['n']})")
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
