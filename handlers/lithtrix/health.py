"""lithtrix: liveness (GET /health)."""

from __future__ import annotations

from server.apis import APIS
from storage import db


def health_health_get():
    """`status` and the semantic API version; `degraded` when the database does not answer."""
    return {"status": "ok" if db.ping() else "degraded", "version": APIS["lithtrix"].document["info"]["version"]}
