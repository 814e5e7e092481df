"""Conformance modules share one process with the rest of the suite."""

from __future__ import annotations

import pytest
from schemathesis.python import asgi


@pytest.fixture(scope="module", autouse=True)
def _stop_apps_after_the_module():
    """Schemathesis starts each ASGI app's lifespan once and keeps it until the process exits;
    end them with the module, so no app's background work (loopat's engine) outlives it."""
    yield
    asgi.shutdown_lifespans()
