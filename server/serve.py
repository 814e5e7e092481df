"""`pentapi serve`: gunicorn with uvicorn workers, schema and WAL set up before the fork."""

from __future__ import annotations

import gc
import logging.config
import typing as t

from gunicorn.app.base import BaseApplication

from server.settings import Settings
from storage import all_models, db


def logging_config(level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # pentapi.access writes the one line per request; uvicorn's own would duplicate it.
        # connexion.operations.openapi3 warns on every request to an operation that accepts several
        # request media types (LoopKit's OTLP ingest: JSON and protobuf); that is not news.
        "loggers": {"uvicorn.access": {"level": "WARNING"}, "connexion": {"level": "WARNING"},
                    "connexion.operations.openapi3": {"level": "ERROR"}},
    }


class PentapiServer(BaseApplication):
    def __init__(self, settings: Settings, api: str | None) -> None:
        self.settings = settings
        self.api = api
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, t.Any] = {
            "bind": f"{s.host}:{s.port}",
            "workers": s.workers,
            "worker_class": "uvicorn_worker.UvicornWorker",
            "logconfig_dict": logging_config(s.log_level),
            "accesslog": None,
            "graceful_timeout": 10,
            # several servers (tests, benchmarks) may run at once; a shared control socket would clash
            "control_socket_disable": True,
            "timeout": 60,
            "on_starting": self._prepare_database,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def _prepare_database(self, _arbiter: t.Any) -> None:
        # In the master, before any worker exists: create tables and switch SQLite to WAL once.
        db.bind(self.settings.resolved_database_url)
        db.init_schema(all_models())
        db.database.close()

    def load(self) -> t.Any:
        from server.app import create_app

        return FreezeWhenStarted(create_app(self.settings, api=self.api))


class FreezeWhenStarted:
    """Takes the worker's long-lived objects out of the cyclic collector's view once the app
    has started. Connexion builds its middleware stack (routes, security, validators, the
    handler modules: ~190k objects) on the first ASGI call, which is lifespan startup; if
    those stay collectable, every full collection walks them and pauses the worker for
    ~140 ms, which is what a loaded server's p99 showed. Freezing right after create_app
    missed all of them."""

    def __init__(self, app: t.Any) -> None:
        self.app = app

    async def __call__(self, scope: t.Any, receive: t.Any, send: t.Any) -> None:
        if scope["type"] != "lifespan":
            return await self.app(scope, receive, send)

        async def send_frozen(message: t.Any) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
            await send(message)

        await self.app(scope, receive, send_frozen)


def run(settings: Settings, api: str | None) -> None:
    logging.config.dictConfig(logging_config(settings.log_level))
    PentapiServer(settings, api).run()
