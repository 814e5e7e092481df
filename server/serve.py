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

        app = create_app(self.settings, api=self.api)
        # The app's long-lived objects (resolved specs, validators, models: ~90k) leave the
        # cyclic collector's view; otherwise every full collection pauses the worker for tens
        # of milliseconds, which is what a loaded server's p99 shows.
        gc.collect()
        gc.freeze()
        return app


def run(settings: Settings, api: str | None) -> None:
    logging.config.dictConfig(logging_config(settings.log_level))
    PentapiServer(settings, api).run()
