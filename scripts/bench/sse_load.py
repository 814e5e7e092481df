"""Load generation for SSE benchmarks that does not steal the server's CPU by accident.

The foundation's first streams measurement ran 1,000 httpx streams and the latency probe in
ONE Python process on the same 2 cores as the server: that process's event loop, not the
server, was the queue in front of every measured request. Here:

* streams are opened by several **client processes** (raw asyncio sockets, no HTTP library:
  a request is written once, the response is read until its first complete SSE event, then
  the connection is held open, reading and discarding), each opening its share at a steady
  rate and timing request-sent -> first event received;
* ordinary requests are timed by their own **probe process** (httpx, a few concurrent
  workers), before and while the streams are open;
* **CPU** is sampled from /proc for the server's workers and for the load generator's own
  processes, so a result can say who was busy.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentiles(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(pick(0.50), 2), "p90_ms": round(pick(0.90), 2),
            "p99_ms": round(pick(0.99), 2), "max_ms": round(ordered[-1], 2),
            "mean_ms": round(statistics.fmean(ordered), 2)}


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class CpuMeter:
    """CPU use of a set of processes over a window, as % of one core each and in total."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def read(self) -> dict:
        wall = time.monotonic() - self.start
        used = {name: cpu_seconds(pid) - self.before[name] for name, pid in self.pids.items()}
        return {"wall_s": round(wall, 2), "percent_of_a_core": {n: round(100 * u / wall, 1) for n, u in used.items()},
                "total_percent": round(100 * sum(used.values()) / wall, 1)}


@dataclass
class StreamSpec:
    """One stream to open: method, path, headers, JSON body."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None

    def request(self, host: str) -> bytes:
        payload = json.dumps(self.body).encode() if self.body is not None else b""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Accept: text/event-stream",
                 *(f"{k}: {v}" for k, v in self.headers.items())]
        if self.body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _open_and_hold(host: str, port: int, spec: StreamSpec, release: asyncio.Event,
                         report: t.Callable[[float | None, float | None, str], None]) -> str:
    """Send the request, time its first complete SSE event (`report`), then hold the stream
    (reading and discarding pings) until `release`. Returns "" or why it ended early."""
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        report(None, None, f"connect: {exc}")
        return "failed"
    try:
        writer.write(spec.request(f"{host}:{port}"))
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = await reader.read(65536)
            if not chunk:
                report(None, None, "closed before headers")
                return "failed"
            buffer += chunk
        headers_ms = (time.perf_counter() - started) * 1000
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            report(None, None, f"status {status.decode()}")
            return "failed"
        while b"\n\n" not in rest:  # the first complete event (chunk-size lines end in \r\n)
            chunk = await reader.read(65536)
            if not chunk:
                report(None, None, "closed before the first event")
                return "failed"
            rest += chunk
        report((time.perf_counter() - started) * 1000, headers_ms, "")
        holding = asyncio.ensure_future(release.wait())
        while True:
            reading = asyncio.ensure_future(reader.read(65536))
            done, _ = await asyncio.wait({reading, holding}, return_when=asyncio.FIRST_COMPLETED)
            if holding in done:
                reading.cancel()
                return ""
            if not reading.result():
                holding.cancel()
                return "closed early"
    finally:
        writer.close()


def _client_process(url: str, specs: list[StreamSpec], rate: float, results: t.Any, release: t.Any) -> None:
    parts = urlsplit(url)

    async def main() -> None:
        firsts: list[float] = []
        heads: list[float] = []
        errors: list[str] = []
        ready, released = asyncio.Event(), asyncio.Event()

        def report(ms: float | None, headers_ms: float | None, error: str) -> None:
            if ms is not None:
                firsts.append(ms)
                heads.append(headers_ms)
            else:
                errors.append(error)
            if len(firsts) + len(errors) == len(specs):
                ready.set()

        tasks = []
        for spec in specs:  # a steady rate: clients arrive over time, not in one burst
            tasks.append(asyncio.ensure_future(_open_and_hold(parts.hostname, parts.port, spec, released, report)))
            await asyncio.sleep(1 / rate)
        await ready.wait()
        results.put({"phase": "open", "first_event_ms": firsts, "headers_ms": heads, "errors": errors})
        while not release.is_set():
            await asyncio.sleep(0.05)
        released.set()
        ended = await asyncio.gather(*tasks)
        results.put({"phase": "closed", "closed_early": sum(e == "closed early" for e in ended)})

    asyncio.run(main())


def _probe_process(url: str, requests: list[dict], concurrency: int, results: mp.Queue) -> None:
    async def main() -> None:
        latencies: list[float] = []
        failures = 0
        queue: asyncio.Queue = asyncio.Queue()
        for item in requests:
            queue.put_nowait(item)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            async def worker() -> None:
                nonlocal failures
                while not queue.empty():
                    item = queue.get_nowait()
                    started = time.perf_counter()
                    r = await client.request(item["method"], item["path"], json=item.get("json"),
                                             headers=item.get("headers"))
                    latencies.append((time.perf_counter() - started) * 1000)
                    failures += r.status_code >= 400

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        results.put({"latencies": latencies, "failures": failures})

    asyncio.run(main())


def probe(url: str, requests: list[dict], concurrency: int = 4) -> dict:
    """Time ordinary requests from a process of their own; returns percentiles and failures."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    process = ctx.Process(target=_probe_process, args=(url, requests, concurrency, results))
    process.start()
    out = results.get(timeout=600)
    process.join(30)
    return {**percentiles(out["latencies"]), "failures": out["failures"]}


class Streams:
    """Open `specs` from `procs` client processes at `rate` streams/s in total and hold them:
    `wait_open()` returns once every stream has its first event (or failed), `close()` ends them."""

    def __init__(self, url: str, specs: list[StreamSpec], *, procs: int, rate: float) -> None:
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self.release = ctx.Event()
        shares = [specs[i::procs] for i in range(procs)]
        self.processes = [ctx.Process(target=_client_process, args=(url, share, rate / procs, self.results,
                                                                      self.release))
                          for share in shares if share]
        self.total = len(specs)

    def start(self) -> dict[str, int]:
        for process in self.processes:
            process.start()
        return {f"client{i}": p.pid for i, p in enumerate(self.processes)}

    def wait_open(self, timeout: float = 600) -> dict:
        reports = [self.results.get(timeout=timeout) for _ in self.processes]
        firsts = [ms for report in reports for ms in report["first_event_ms"]]
        heads = [ms for report in reports for ms in report["headers_ms"]]
        errors = [e for report in reports for e in report["errors"]]
        return {"streams_requested": self.total, "streams_open": len(firsts), "stream_errors": len(errors),
                "error_kinds": sorted(set(errors))[:5], "first_event": percentiles(firsts),
                "response_headers": percentiles(heads)}

    def close(self) -> dict:
        self.release.set()
        reports = [self.results.get(timeout=120) for _ in self.processes]
        for process in self.processes:
            process.join(30)
        return {"closed_by_server_early": sum(r["closed_early"] for r in reports)}


def worker_pids(url: str, workers: int = 2, tries: int = 200) -> list[int]:
    """The server's worker pids, learnt from X-Served-By (PENTAPI_EXPOSE_WORKER=1)."""
    seen: set[int] = set()
    for _ in range(tries):
        with httpx.Client(timeout=5) as client:
            seen.add(int(client.get(f"{url}/healthz").headers["x-served-by"]))
        if len(seen) >= workers:
            break
    return sorted(seen)
