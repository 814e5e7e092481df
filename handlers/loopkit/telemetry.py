"""loopkit: handlers for telemetry operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getTelemetry")
def get_telemetry(**kwargs):
    """GET /v1/telemetry (scaffolded by `pentapi generate`: answers 501 until written)."""
