"""Benchmark harness: `pentapi serve` and a bare Starlette + sqlite3 app doing the same work,
started side by side under the same gunicorn + uvicorn workers and loaded by wrk in one run.

    from scripts.bench.harness import Case, pentapi_server, bare_server, run_cases

    with pentapi_server(env={...}) as p, bare_server() as b:
        results = run_cases("gvnr", [Case("rate-check", p + "/gvnr/v1/rate/check", b + "/rate", method="POST",
                                          body='{"..."}', headers={"Authorization": "Bearer ..."})])

`run_cases` writes docs/bench/<name>.json (rps, p50/p90/p99 ms, non-2xx count, ratio to bare)
and prints a table. wrk comes from Debian (`apt-get install wrk`). Everything targets 127.0.0.1
and each load lasts `duration` seconds. Benchmarks are scripts, never tests.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "docs" / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready")


@contextmanager
def _process(argv: list[str], env: dict, ready_url: str):
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(ready_url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def pentapi_server(*, workers: int = 2, api: str | None = None, env: dict | None = None, data_dir: Path | None = None):
    """`pentapi serve` on a free port with a fresh data dir; yields its base URL."""
    port = free_port()
    data = data_dir or Path(tempfile.mkdtemp(prefix="bench-pentapi-"))
    environment = {**os.environ, "PENTAPI_DATA_DIR": str(data), "PENTAPI_PORT": str(port),
                   "PENTAPI_WORKERS": str(workers), "PENTAPI_LOG_LEVEL": "warning", **(env or {})}
    argv = [sys.executable, "-m", "server.cli", "serve", *(["--api", api] if api else [])]
    with _process(argv, environment, f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def bare_server(*, workers: int = 2, data_dir: Path | None = None, env: dict | None = None):
    """scripts/bench/bare.py under the same gunicorn + uvicorn worker setup; yields its base URL."""
    port = free_port()
    data = data_dir or Path(tempfile.mkdtemp(prefix="bench-bare-"))
    environment = {**os.environ, "BARE_DB": str(data / "bare.sqlite3"), **(env or {})}
    subprocess.run([sys.executable, "-m", "scripts.bench.bare", "--init"], cwd=REPO, env=environment, check=True)
    argv = [sys.executable, "-m", "gunicorn", "scripts.bench.bare:app", "-k", "uvicorn_worker.UvicornWorker",
            "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket"]
    with _process(argv, environment, f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Case:
    """One comparison: the same work through pentapi and through the bare app."""

    name: str
    pentapi_url: str
    bare_url: str | None = None
    method: str = "GET"
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    bare_headers: dict[str, str] | None = None
    lua: str = ""  # extra wrk Lua (e.g. a `request` function that varies the body)


def _lua(method: str, body: str | None, headers: dict[str, str], extra: str) -> str:
    lines = [f"wrk.method = {json.dumps(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    for key, value in headers.items():
        lines.append(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}")
    return "\n".join(lines) + "\n" + extra


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, *, method: str = "GET", body: str | None = None, headers: dict[str, str] | None = None,
        lua: str = "", connections: int = 32, threads: int = 2, duration: int = 10) -> dict:
    """Run wrk and parse throughput, latency percentiles and failures."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(method, body, headers or {}, lua))
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
         "-s", script.name, url],
        check=True, capture_output=True, text=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p90_ms": _ms(latency["90"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
    }


def run_cases(name: str, cases: list[Case], *, connections: int = 32, duration: int = 10,
              notes: str = "") -> dict:
    """Load each case through pentapi and (if given) the bare app; write docs/bench/<name>.json."""
    results = []
    for case in cases:
        row = {"case": case.name, "pentapi": wrk(case.pentapi_url, method=case.method, body=case.body,
                                                 headers=case.headers, lua=case.lua,
                                                 connections=connections, duration=duration)}
        if case.bare_url:
            row["bare"] = wrk(case.bare_url, method=case.method, body=case.body,
                              headers=case.bare_headers if case.bare_headers is not None else case.headers,
                              lua=case.lua, connections=connections, duration=duration)
            row["ratio_rps"] = round(row["pentapi"]["rps"] / row["bare"]["rps"], 3)
        row["definition"] = {k: v for k, v in asdict(case).items() if k not in ("lua",)}
        results.append(row)
    report = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load": {"tool": "wrk", "threads": 2, "connections": connections, "duration_s": duration},
        "notes": notes,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    for row in results:
        p = row["pentapi"]
        line = f"{name}/{row['case']}: pentapi {p['rps']:.0f} rps p50 {p['p50_ms']:.2f} ms p99 {p['p99_ms']:.2f} ms"
        if "bare" in row:
            b = row["bare"]
            line += f" | bare {b['rps']:.0f} rps p99 {b['p99_ms']:.2f} ms | ratio {row['ratio_rps']:.2f}"
        print(line)
    return report
