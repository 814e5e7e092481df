"""Bursts that both gunicorn worker processes take part in, for the "across workers" e2e tests.

Which worker accepts a connection is the kernel's choice, so a burst over a few connections
can land on one worker only. `burst` first opens kept-alive connections until it holds as many
to each worker (X-Served-By on /healthz names the worker: the server runs with
PENTAPI_EXPOSE_WORKER=1), then sends every request over them concurrently. `served_by` tells
which workers answered, so a test asserts both took part rather than assuming it.
"""

from __future__ import annotations

import contextlib
import queue
import typing as t
from concurrent.futures import ThreadPoolExecutor

import httpx

EXPOSE_WORKER = {"PENTAPI_EXPOSE_WORKER": "1"}


def served_by(responses: t.Iterable[httpx.Response]) -> set[str]:
    """The worker processes (pids) that answered these responses."""
    return {r.headers["x-served-by"] for r in responses}


@contextlib.contextmanager
def clients_on_both_workers(url: str, per_worker: int, *, tries: int = 400) -> t.Iterator[list[httpx.Client]]:
    """2 * per_worker clients, each holding one kept-alive connection, per_worker to each worker."""
    kept: dict[str, list[httpx.Client]] = {}
    try:
        for _ in range(tries):
            if len(kept) == 2 and all(len(clients) == per_worker for clients in kept.values()):
                break
            client = httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1))
            pid = client.get("/healthz").headers["x-served-by"]
            if len(kept.setdefault(pid, [])) < per_worker:
                kept[pid].append(client)
            else:
                client.close()
        else:
            raise AssertionError(f"could not reach both workers: {sorted(kept)}")
        yield [client for clients in kept.values() for client in clients]
    finally:
        for clients in kept.values():
            for client in clients:
                client.close()


def burst(url: str, count: int, call: t.Callable[[httpx.Client, int], httpx.Response], *,
          per_worker: int = 8) -> list[httpx.Response]:
    """call(client, i) for i in range(count), concurrently over connections to both workers;
    the responses in order."""
    with clients_on_both_workers(url, per_worker) as clients:
        free: queue.Queue[httpx.Client] = queue.Queue()
        for client in clients:
            free.put(client)

        def one(i: int) -> httpx.Response:
            client = free.get()
            try:
                return call(client, i)
            finally:
                free.put(client)

        with ThreadPoolExecutor(len(clients)) as pool:
            return list(pool.map(one, range(count)))
