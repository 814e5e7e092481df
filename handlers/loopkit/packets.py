"""Diagnosis packets: built from one bounded window by the rules, persisted, read back.

A packet is what an agent hands to a human: the repeated signals of the window, each with
evidence ids that resolve to stored records (GET /v1/sessions/{record or trace id}), and
whether its next action needs approval (any external write does; LoopKit itself never posts).
"""

from __future__ import annotations

import json
import secrets
import typing as t

from handlers.loopkit import diagnosis, window
from handlers.loopkit.shapes import Check, DiagnosisPacket, Issue, Window
from storage import db
from storage.base import utcnow
from storage.loopkit import Packet

SOURCE = "loopkit.runtime.diagnose"


def build(principal: dict[str, t.Any], since_minutes: int, max_records: int,
          rules: diagnosis.Rules = diagnosis.DEFAULT_RULES) -> tuple[DiagnosisPacket, dict[str, t.Any]]:
    """Run the rules over the window; the packet (not yet saved) and the window's totals."""
    bounds = window.bounds(principal["project_id"], since_minutes, max_records)
    facts, totals = window.facts(bounds, rules)
    found = diagnosis.diagnose(facts, rules)
    packet = DiagnosisPacket(
        packet_id="pkt_" + secrets.token_hex(6),
        tenant_id=principal["tenant_id"],
        project_id=principal["project_id"],
        source=SOURCE,
        status=found.status,
        since_minutes=since_minutes,
        telemetry_read=facts.records,
        failures=facts.errors,
        approval_required=found.approval_required,
        approval_reason=found.approval_reason,
        created_at=utcnow(),
        issues=[Issue(**vars(issue)) for issue in found.issues],
        window=Window(**bounds.describe()),
        checks=[Check(**vars(check)) for check in found.checks],
        summary=found.summary,
    )
    return packet, totals


def save(packet: DiagnosisPacket) -> None:
    insert = Packet.insert(id=packet.packet_id, project=packet.project_id, status=packet.status.value,
                           body=packet.model_dump_json(), created_at=packet.created_at)
    with db.write():
        insert.execute()


def latest(project_id: str) -> DiagnosisPacket | None:
    row = (Packet.select().where(Packet.project == project_id)
           .order_by(Packet.created_at.desc(), Packet.id.desc()).first())
    return DiagnosisPacket.model_validate(json.loads(row.body)) if row else None
