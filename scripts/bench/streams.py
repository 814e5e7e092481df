"""How many open SSE streams one server holds while ordinary requests keep their latency.

`python -m scripts.bench.streams --streams 1000`: starts `pentapi serve` (2 workers) with the
fixture API mounted, measures the latency of small writes (POST /oas31/counters) alone, then
opens N long-lived streams (GET /oas31/stream, one event per second each) and measures, while
they are all open, the first-event latency of every stream and again the small-write latency.
Streams are opened at a steady rate (--rate per second), as clients arrive, not in one burst.

The streams are held by --procs client processes and the writes are timed from a probe process
of its own (scripts/bench/sse_load.py): the first version of this script ran everything in one
Python process on the same two cores as the server, and that process's event loop, busy with
1,000 streams, was most of the measured latency. CPU is sampled for the server's workers and
the load generator. Results go to docs/bench/streams.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from scripts.bench.harness import RESULTS, pentapi_server
from scripts.bench.sse_load import CpuMeter, Streams, StreamSpec, probe, worker_pids
from tests.fixtures.oas31 import mount_json


def run(url: str, args: argparse.Namespace) -> dict:
    workers = {f"worker{pid}": pid for pid in worker_pids(url)}
    writes = [{"method": "POST", "path": "/oas31/counters", "json": {"key": f"w{i % 32}"}} for i in range(400)]
    meter = CpuMeter(workers)
    result: dict = {"writes_alone": probe(url, writes, concurrency=8)}
    result["writes_alone"]["cpu"] = meter.read()
    specs = [StreamSpec("GET", "/oas31/stream?n=100000&interval_ms=1000") for _ in range(args.streams)]
    streams = Streams(url, specs, procs=args.procs, rate=args.rate)
    meter = CpuMeter({**workers, **streams.start()})
    result.update(streams.wait_open())
    result["cpu_while_opening"] = meter.read()
    meter = CpuMeter(workers)
    time.sleep(args.hold)
    result["cpu_holding"] = meter.read()  # the streams alone: 1 event per stream per second
    meter = CpuMeter(workers)
    result["writes_with_streams_open"] = probe(url, writes, concurrency=8)
    result["writes_with_streams_open"]["cpu"] = meter.read()
    result.update(streams.close())
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=2.0, help="seconds to hold all streams before measuring")
    parser.add_argument("--rate", type=float, default=200.0, help="new streams opened per second")
    parser.add_argument("--procs", type=int, default=4, help="client processes holding the streams")
    args = parser.parse_args()
    env = {"PENTAPI_EXTRA_APIS": mount_json(), "PENTAPI_EXPOSE_WORKER": "1"}
    with pentapi_server(workers=2, env=env) as url:
        result = run(url, args)
    result["open_rate_per_s"] = args.rate
    result["client_processes"] = args.procs
    result["load_average_at_end"] = os.getloadavg()
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["setup"] = "pentapi serve, 2 uvicorn workers, 10 WSGI threads each; streams via NativeAsync"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "streams.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
