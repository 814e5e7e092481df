"""Shared fixtures: a fresh app on a temp SQLite file, and `pentapi serve` on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.settings import Settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults on a private data dir; response validation on, as in all tests."""
    return Settings().replace(data_dir=tmp_path / "data", database_url="", validate_responses=True)


@pytest.fixture
def make_client(settings: Settings):
    """Build the real ASGI app (all five APIs, or one with api=NAME) and an HTTP client for it."""
    clients = []

    def build(api: str | None = None, **changes):
        app = create_app(settings.replace(**changes) if changes else settings, api=api)
        client = app.test_client()
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`pentapi serve` (gunicorn + uvicorn workers) in a subprocess."""

    def __init__(self, data_dir: Path, *args: str, workers: int = 2, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"server-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, "PENTAPI_DATA_DIR": str(data_dir), "PENTAPI_PORT": str(self.port),
                       "PENTAPI_WORKERS": str(workers), "PENTAPI_VALIDATE_RESPONSES": "1", **(env or {})}
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", *args],
            cwd=REPO, env=environment, stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        try:
            self.wait_ready()
        except RuntimeError:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


@pytest.fixture
def serve(tmp_path: Path):
    """Start `pentapi serve` with the given CLI args / env; stopped at teardown."""
    servers: list[Server] = []

    def start(*args: str, workers: int = 2, env: dict | None = None) -> Server:
        server = Server(tmp_path / f"serve{len(servers)}", *args, workers=workers, env=env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
