"""lithtrix: GET /v1/capabilities, the machine-readable description (handlers/lithtrix/discovery.py)."""

from __future__ import annotations

from handlers.lithtrix import access, discovery
from server.settings import current


def capabilities_v1_capabilities_get() -> dict:
    return discovery.capabilities(current(), access.base_url())
