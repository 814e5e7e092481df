"""lithtrix: GET /v1/guide, the five-step quickstart (handlers/lithtrix/discovery.py)."""

from __future__ import annotations

from handlers.lithtrix import access, discovery
from server.settings import current


def get_guide_v1_guide_get() -> dict:
    return discovery.guide(current(), access.base_url())
