"""GET /health: liveness, and what it says when the database cannot be opened."""

from __future__ import annotations

import shutil

from storage import db
from tests.api.loopkit.conftest import P


def test_health_is_ok_while_the_database_answers(lk):
    r = lk.get(f"{P}/health")
    assert r.status_code == 200 and r.json() == {"ok": True, "service": "loopkit"}


def test_health_says_so_when_the_database_is_unreachable(lk, settings):
    """The spec documents only 200: the answer stays 200, with ok false, never a 500."""
    assert lk.get(f"{P}/health").json()["ok"] is True
    shutil.rmtree(settings.data_dir)  # the database file and its directory are gone
    db.database.close_idle()  # as the pool does past stale_timeout: new connections must open the file
    r = lk.get(f"{P}/health")
    assert r.status_code == 200 and r.json() == {"ok": False, "service": "loopkit"}
    assert lk.get("/healthz").status_code == 503  # the server's own readiness check
