"""How many open SSE streams one server holds while ordinary requests keep their latency.

`python -m scripts.bench.streams --streams 1000`: starts `pentapi serve` (2 workers) with the
fixture API mounted, measures the latency of small writes (POST /oas31/counters) alone, then
opens N long-lived streams (GET /oas31/stream, one event per second) and measures, while they
are all open, the first-event latency of every stream and again the small-write latency.
Streams are opened at a steady rate (--rate per second), as clients arrive, not in one burst.
Results go to docs/bench/streams.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

from scripts.bench.harness import RESULTS, pentapi_server
from tests.fixtures.oas31 import mount_json


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2),
            "max_ms": round(ordered[-1], 2), "mean_ms": round(statistics.fmean(ordered), 2)}


async def writes(client: httpx.AsyncClient, url: str, count: int, concurrency: int = 8) -> list[float]:
    latencies: list[float] = []

    async def worker(i: int) -> None:
        for j in range(count // concurrency):
            started = time.perf_counter()
            r = await client.post(f"{url}/oas31/counters", json={"key": f"w{i}-{j % 4}"})
            r.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies


async def run(url: str, streams: int, hold_s: float, rate: float) -> dict:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        baseline = await writes(client, url, 400)
        first_event: list[float] = []
        opened = asyncio.Event()
        release = asyncio.Event()
        errors = 0

        async def stream() -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                async with client.stream("GET", f"{url}/oas31/stream?n=100000&interval_ms=1000") as r:
                    async for _ in r.aiter_lines():
                        first_event.append((time.perf_counter() - started) * 1000)
                        if len(first_event) == streams:
                            opened.set()
                        await release.wait()
                        break
            except httpx.HTTPError:
                errors += 1
                if len(first_event) + errors == streams:
                    opened.set()

        tasks = []
        for _ in range(streams):  # open at a steady rate: clients connect over time, not in one burst
            tasks.append(asyncio.create_task(stream()))
            await asyncio.sleep(1 / rate)
        await asyncio.wait_for(opened.wait(), timeout=120)
        await asyncio.sleep(hold_s)
        under_load = await writes(client, url, 400)
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "streams_requested": streams,
        "streams_open": len(first_event),
        "stream_errors": errors,
        "first_event": percentiles(first_event),
        "writes_alone": percentiles(baseline),
        "writes_with_streams_open": percentiles(under_load),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=2.0, help="seconds to hold all streams before measuring")
    parser.add_argument("--rate", type=float, default=200.0, help="new streams opened per second")
    args = parser.parse_args()
    with pentapi_server(workers=2, env={"PENTAPI_EXTRA_APIS": mount_json()}) as url:
        result = asyncio.run(run(url, args.streams, args.hold, args.rate))
    result["open_rate_per_s"] = args.rate
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["setup"] = "pentapi serve, 2 uvicorn workers, 10 WSGI threads each; streams via NativeAsync"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "streams.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
