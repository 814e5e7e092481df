"""Foundation benchmark: GET /healthz and one small write (an upsert) through the whole stack,
beside the bare Starlette + sqlite3 app doing the same. `python -m scripts.bench.foundation`.

The write goes through the fixture API tests/fixtures/oas31 (mounted via PENTAPI_EXTRA_APIS)
so it exercises routing, validation, the handler thread, the write gate and SQLite.
"""

from __future__ import annotations

import argparse

from scripts.bench.harness import Case, bare_server, pentapi_server, run_cases
from tests.fixtures.oas31 import mount_json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    body = '{"key": "bench"}'
    json_header = {"Content-Type": "application/json"}
    with pentapi_server(env={"PENTAPI_EXTRA_APIS": mount_json()}) as pentapi, bare_server() as bare:
        run_cases("foundation", [
            Case("healthz", f"{pentapi}/healthz", f"{bare}/healthz"),
            Case("small-write", f"{pentapi}/oas31/counters", f"{bare}/write", method="POST", body=body,
                 headers=json_header),
        ], connections=args.connections, duration=args.duration,
            notes="2 gunicorn workers each; wrk -t2 -c32; pentapi with response validation off (production default)")


if __name__ == "__main__":
    main()
