"""Gvnr benchmark: POST /v1/budget/clear and POST /v1/rate/check through the whole stack
(gunicorn, 2 uvicorn workers, security, request validation, the writer thread), beside the bare
Starlette + sqlite3 app running the very same SQL (scripts/bench/bare.py /clear, /ratecheck),
loaded by wrk -c32 in the same run. `python -m scripts.bench.gvnr [--duration S]`.

Every clear is approved (a huge quota and envelope), so each one writes: an operation taken,
the envelope charged, a clearance recorded. Results go to docs/bench/gvnr.json. Goal: pentapi
at >= 30% of the bare endpoint's throughput with p99 < 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from scripts.bench.harness import REPO, Case, bare_server, pentapi_server, run_cases

AGENT, PROVIDER, MODEL = "bench-agent", "openai", "gpt-4o-mini"


def _admin(data_dir: Path, *args: str) -> dict:
    env = {**os.environ, "PENTAPI_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "server.cli", "gvnr", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-gvnr-"))
    key = _admin(data_dir, "account", "create", "--ops", str(10**12))["api_key"]
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    clear = json.dumps({"agent_id": AGENT, "model": MODEL, "estimated_tokens": 1})
    check = json.dumps({"agent_id": AGENT, "provider": PROVIDER, "model": MODEL})
    with pentapi_server(data_dir=data_dir) as pentapi, bare_server(env={"BARE_GVNR_KEY": key}) as bare:
        with httpx.Client(base_url=f"{pentapi}/gvnr", headers=headers) as http:
            http.put("/v1/budget/envelope", json={"agent_id": AGENT, "limit_usd": 1_000_000, "window": "session"})
            http.put("/v1/rate/envelope", json={"agent_id": AGENT, "provider": PROVIDER, "model": MODEL,
                                                "requests_per_minute": 1_000_000})
            assert http.post("/v1/budget/clear", content=clear).json()["approved"] is True
            assert http.post("/v1/rate/check", content=check).json()["allowed"] is True
        run_cases("gvnr", [
            Case("budget-clear", f"{pentapi}/gvnr/v1/budget/clear", f"{bare}/clear", method="POST", body=clear,
                 headers=headers),
            Case("rate-check", f"{pentapi}/gvnr/v1/rate/check", f"{bare}/ratecheck", method="POST", body=check,
                 headers=headers),
        ], connections=args.connections, duration=args.duration,
            notes="2 gunicorn workers each; wrk -t2 -c32; pentapi with response validation off (production "
                  "default); every clear approved and written; bare runs the same SQL per request; load average "
                  f"at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
