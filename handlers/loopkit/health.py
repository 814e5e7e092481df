"""loopkit: liveness (GET /health)."""

from __future__ import annotations

from storage import db


def get_health():
    """`{"ok": true}` while the database answers (the spec documents only 200)."""
    return {"ok": db.ping(), "service": "loopkit"}
