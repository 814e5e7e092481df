"""A project's standing (plan, expiry, quota) and the live view of its current window, shared
by the dashboard and the markdown report."""

from __future__ import annotations

import typing as t

from handlers.loopkit import packets, projects
from handlers.loopkit.shapes import ProjectStanding, Signal
from storage.loopkit import Project

DASHBOARD_MINUTES = 60


def project_standing(project_id: str) -> ProjectStanding:
    project = Project.get_by_id(project_id)
    keys = projects.active_keys(project_id)
    expiries = [k.expires_at for k in keys if k.expires_at is not None]
    quota = project.quota_spans
    return ProjectStanding(
        project_id=project.id,
        project_name=project.name,
        tenant_id=project.tenant_id,
        plan=next((k.plan for k in keys if k.plan), None),
        expires_at=max(expiries) if expiries else None,
        quota_spans=quota,
        spans_used=project.spans_used,
        spans_remaining=None if quota is None else max(0, quota - project.spans_used),
    )


def live(principal: dict[str, t.Any], max_records: int) -> tuple[packets.DiagnosisPacket, dict[str, t.Any]]:
    """The rules over the dashboard window, not persisted: the current top signals and totals."""
    return packets.build(principal, DASHBOARD_MINUTES, max_records)


def top_signals(packet: packets.DiagnosisPacket, limit: int = 5) -> list[Signal]:
    return [Signal(signal_type=i.signal_type, title=i.title, severity=i.severity, count=i.count)
            for i in packet.issues[:limit]]
