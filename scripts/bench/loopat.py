"""loopat benchmark: how many turn streams one server holds open, how fast each gets its first
event, and whether ordinary requests keep their latency meanwhile.

`python -m scripts.bench.loopat --streams 1000`: for each opening rate (--rates, default 100
and 200 new streams per second), provisions a user and N loops, starts `pentapi serve`
(2 workers), then

1. times ordinary requests alone (GET /loops/{id} with runtime state, and POST /loops, a small
   write), from a probe process of their own;
2. opens N turn streams (POST /loops/{id}/messages, one per loop) from several client
   processes at a steady rate. Each turn asks the user a question and waits (no timeout), so
   every stream stays open on a running turn, receiving pings. Each stream's first event
   (`started`) is timed from request sent to event received;
3. optionally opens W read-only watchers (GET /loops/{id}/events; first event `snapshot`);
4. times the same ordinary requests while everything is open;
5. samples the CPU of the server's workers and of the load generator in each phase.

Results go to docs/bench/loopat.json. Everything runs on 127.0.0.1; the load is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from scripts.bench.harness import RESULTS, pentapi_server
from scripts.bench.sse_load import CpuMeter, Streams, StreamSpec, probe, worker_pids

P = "/loopat/api/v1"
ASK = "ask me, then what is 6*7"
ENV = {
    "PENTAPI_EXPOSE_WORKER": "1",
    "LOOPAT_QUESTION_TIMEOUT_SECONDS": "0",  # the turns wait for their answer as long as the run lasts
    "LOOPAT_LOCAL_DELTA_MS": "0",
}


def provision(data_dir: Path, loops: int) -> tuple[str, list[str]]:
    """A user, a token and `loops` loops, written before the server starts."""
    from handlers.loopat import accounts, records
    from server.settings import Settings, activate
    from storage import all_models, db

    settings = activate(Settings().replace(data_dir=data_dir, database_url=""))
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    with db.database.connection_context():
        accounts.create_user("bench", "bench-password")
        _, token = accounts.create_token("bench", "bench")
        ids = [records.create_loop("bench", {"title": f"bench {i}"}).id for i in range(loops)]
    db.database.close()
    return token, ids


def ordinary(token: str, loop_ids: list[str], n: int) -> list[dict]:
    auth = {"Authorization": f"Bearer {token}"}
    out = []
    for i in range(n):
        if i % 2:
            out.append({"method": "GET", "path": f"{P}/loops/{loop_ids[i % len(loop_ids)]}", "headers": auth})
        else:
            out.append({"method": "POST", "path": f"{P}/loops", "json": {"title": f"probe {i}"}, "headers": auth})
    return out


def run(args: argparse.Namespace, rate: float) -> dict:
    """One measurement on a fresh server and database, opening streams at `rate` per second."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-loopat-"))
    token, loop_ids = provision(data_dir, args.streams)
    auth = {"Authorization": f"Bearer {token}"}
    result: dict = {"setup": {
        "streams": args.streams, "watchers": args.watchers, "client_processes": args.procs,
        "open_rate_per_s": rate, "server_workers": args.workers, "machine_cpus": os.cpu_count(),
        "python": platform.python_version(), "load_average_at_start": os.getloadavg()}}
    with pentapi_server(workers=args.workers, env=ENV, data_dir=data_dir) as url:
        workers = {f"worker{pid}": pid for pid in worker_pids(url, args.workers)}
        probes = ordinary(token, loop_ids, args.probe_requests)
        meter = CpuMeter(workers)
        result["ordinary_alone"] = probe(url, probes, args.probe_concurrency)
        result["ordinary_alone"]["cpu"] = meter.read()

        specs = [StreamSpec("POST", f"{P}/loops/{loop_id}/messages", auth,
                            {"content": ASK, "permission_mode": "default"}) for loop_id in loop_ids]
        turns = Streams(url, specs, procs=args.procs, rate=rate)
        clients = turns.start()
        meter = CpuMeter({**workers, **clients})
        result["turn_streams"] = turns.wait_open()
        result["turn_streams"]["cpu_while_opening"] = meter.read()

        watchers = None
        if args.watchers:
            watch_specs = [StreamSpec("GET", f"{P}/loops/{loop_ids[i % len(loop_ids)]}/events", auth)
                           for i in range(args.watchers)]
            watchers = Streams(url, watch_specs, procs=args.procs, rate=rate)
            meter = CpuMeter({**workers, **watchers.start()})
            result["watch_streams"] = watchers.wait_open()
            result["watch_streams"]["cpu_while_opening"] = meter.read()

        meter = CpuMeter(workers)
        time.sleep(args.hold)
        result["idle_with_streams_open"] = {"cpu": meter.read()}

        meter = CpuMeter(workers)
        result["ordinary_with_streams_open"] = probe(url, probes, args.probe_concurrency)
        result["ordinary_with_streams_open"]["cpu"] = meter.read()

        result["turn_streams"].update(turns.close())
        if watchers is not None:
            result["watch_streams"].update(watchers.close())
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000, help="turn streams to open (one loop each)")
    parser.add_argument("--watchers", type=int, default=0, help="GET /events watchers to open on top")
    parser.add_argument("--rates", default="100,200",
                        help="new streams per second, in total; one run (fresh server) per rate")
    parser.add_argument("--procs", type=int, default=4, help="client processes opening the streams")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--hold", type=float, default=3.0, help="seconds to hold everything open, idle")
    parser.add_argument("--probe-requests", type=int, default=400)
    parser.add_argument("--probe-concurrency", type=int, default=8)
    args = parser.parse_args()
    result = {"benchmark": "loopat", "runs": [run(args, float(rate)) for rate in args.rates.split(",")]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "loopat.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
