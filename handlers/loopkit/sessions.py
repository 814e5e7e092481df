"""loopkit: handlers for sessions operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getSessions")
def get_sessions(**kwargs):
    """GET /v1/sessions (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getSessionsById")
def get_sessions_by_id(**kwargs):
    """GET /v1/sessions/{id} (scaffolded by `pentapi generate`: answers 501 until written)."""
