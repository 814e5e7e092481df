"""loopkit: POST /v1/runs/diagnose, the bounded-window diagnosis (agent key).

The rules (handlers/loopkit/diagnosis.py) run over the last `since_minutes` (default 60); the
packet is persisted, so the dashboard and the markdown report show the latest one.
"""

from __future__ import annotations

from handlers.loopkit import access, packets
from handlers.loopkit.shapes import DiagnosisResponse
from server.settings import current


def post_runs_diagnose(body: dict | None = None):
    since_minutes = (body or {}).get("since_minutes", 60)
    packet, _ = packets.build(access.principal(), since_minutes, current().loopkit_window_max_records)
    packets.save(packet)
    return DiagnosisResponse(ok=True, packet=packet).model_dump(mode="json", exclude_none=True)
