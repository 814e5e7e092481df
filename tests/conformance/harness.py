"""Schemathesis against one mounted API, all checks on, scaffolded operations left out.

The exclusion list is `scripts.generate.pending_operations()`: the same list README's coverage
table shows, so it can only shrink as handlers land.
"""

from __future__ import annotations

import schemathesis
from schemathesis.config import SchemathesisConfig

from scripts.generate import pending_operations
from server.apis import APIS
from server.app import create_app
from server.settings import Settings


def load_schema(api: str, data_dir, *, max_examples: int = 25, config: dict | None = None,
                **settings_changes):
    """The API's served document, loaded through a fresh ASGI app of all five APIs.

    `config` adds Schemathesis configuration (e.g. `{"auth": {"openapi": {scheme: {...}}}}`,
    so each security scheme gets a valid credential and negative auth cases stay negative).
    """
    settings = Settings().replace(data_dir=data_dir, database_url="", validate_responses=True,
                                  **settings_changes)
    app = create_app(settings)
    # No example database: runs stay independent and nothing is written into the working tree.
    generation = {"generation": {"max-examples": max_examples, "database": "none"}}
    options = SchemathesisConfig.from_dict({**generation, **(config or {})})
    return schemathesis.openapi.from_asgi(f"{APIS[api].base_path(combined=True)}/openapi.json", app,
                                          config=options)


def lazy_schema(api: str, fixture: str):
    """`schemathesis.pytest.from_fixture(fixture)` minus the API's pending operations."""
    schema = schemathesis.pytest.from_fixture(fixture)
    pending = sorted(pending_operations()[api])
    return schema.exclude(operation_id=pending) if pending else schema
