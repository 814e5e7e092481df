"""Storage: Peewee models per API (storage/<api>.py) and the database binding (storage/db.py).

Each API module lists its tables in `MODELS`; `all_models()` gathers them for schema set-up.
"""

from __future__ import annotations

import importlib

import peewee

API_MODULES = ("loup", "loopkit", "loopat", "lithtrix", "gvnr")


def all_models() -> list[type[peewee.Model]]:
    models: list[type[peewee.Model]] = []
    for name in API_MODULES:
        try:
            module = importlib.import_module(f"storage.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"storage.{name}":
                raise
            continue
        models.extend(getattr(module, "MODELS", ()))
    return models
