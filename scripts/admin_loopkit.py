"""`pentapi loopkit ...`: what LoopKit's dashboard and operator do, from the command line.

Every command prints one JSON object. Keys appear in that output once and are stored only as
SHA-256 digests; recovery and upgrade codes are recomputed from the server secret.
"""

from __future__ import annotations

import argparse
import time
import typing as t

import peewee

from handlers.loopkit import codes, projects
from scripts import admin
from server.settings import Settings
from storage import db
from storage.loopkit import Project, Record

_REFUSED = (projects.ProvisioningError,)


def _codes(settings: Settings, project_id: str) -> dict[str, str | None]:
    secret = codes.server_secret(settings)
    if secret is None:
        return {"recovery_code": None, "upgrade_code": None}
    return {"recovery_code": codes.recovery_code(secret, project_id),
            "upgrade_code": codes.upgrade_code(secret, project_id)}


def _standing(project: Project) -> dict[str, t.Any]:
    return {
        "project_id": project.id,
        "project_name": project.name,
        "operator": project.operator or None,
        "tenant_id": project.tenant_id,
        "quota_spans": project.quota_spans,
        "spans_used": project.spans_used,
        "graduated_at": project.graduated_at,
        "created_at": project.created_at,
        "keys": [projects.key_summary(k) for k in projects.active_keys(project.id)],
    }


def _create(a: argparse.Namespace, s: Settings) -> dict:
    try:
        minted = projects.mint(s, a.name, a.operator or "", graduate=False if a.sandbox else None)
    except peewee.IntegrityError:
        raise projects.ProvisioningError(f"project name already claimed: {a.name!r}") from None
    return {**_standing(minted.project), "producer_key": minted.producer_key, "agent_key": minted.agent_key,
            **_codes(s, minted.project.id), "note": "keys are shown once; only their SHA-256 is stored"}


def _list(_a: argparse.Namespace, _s: Settings) -> dict:
    rows = Project.select().order_by(Project.created_at)
    return {"projects": [{"project_id": p.id, "project_name": p.name, "operator": p.operator or None,
                          "spans_used": p.spans_used, "quota_spans": p.quota_spans} for p in rows]}


def _show(a: argparse.Namespace, _s: Settings) -> dict:
    return _standing(projects.get(a.project))


def _quota(a: argparse.Namespace, _s: Settings) -> dict:
    projects.get(a.project)
    quota = None if a.spans == "unlimited" else int(a.spans)
    update = Project.update(quota_spans=quota).where(Project.id == a.project)
    with db.write():
        update.execute()
    return _standing(projects.get(a.project))


def _rotate(a: argparse.Namespace, s: Settings) -> dict:
    producer_key, agent_key, revoked = projects.rotate(s, a.project)
    return {"project_id": a.project, "producer_key": producer_key, "agent_key": agent_key, "revoked_keys": revoked,
            "note": "keys are shown once; only their SHA-256 is stored"}


def _show_codes(a: argparse.Namespace, s: Settings) -> dict:
    projects.get(a.project)
    found = _codes(s, a.project)
    if found["recovery_code"] is None:
        raise projects.ProvisioningError("no signup secret is configured (LOOPKIT_SIGNUP_UPGRADE_SECRET is empty)")
    return {"project_id": a.project, **found}


def _upgrade(a: argparse.Namespace, _s: Settings) -> dict:
    projects.get(a.project)
    projects.graduate(a.project)
    return _standing(projects.get(a.project))


def _prune(a: argparse.Namespace, _s: Settings) -> dict:
    cutoff = int((time.time() - a.older_than_days * 86400) * 1000)
    query = Record.delete().where(Record.start_ms < cutoff)
    if a.project:
        query = Record.delete().where((Record.project == a.project) & (Record.start_ms < cutoff))
    with db.write():
        deleted = query.execute()
    return {"deleted_records": deleted, "older_than_days": a.older_than_days}


def add_commands(parser: argparse.ArgumentParser) -> None:
    groups = parser.add_subparsers(dest="loopkit_command", required=True)

    command = admin.subcommand(_REFUSED)

    project = groups.add_parser("project", help="projects and their keys").add_subparsers(dest="action", required=True)
    c = command(project, "create", _create, "mint a project with producer and agent keys (printed once)")
    c.add_argument("name", help="the project name (provision's idempotency key)")
    c.add_argument("--operator", help="namespace for the name")
    c.add_argument("--sandbox", action="store_true", help="sandbox plan with an expiry, even when graduation is on")
    command(project, "list", _list, "list projects")
    command(project, "show", _show, "a project's standing and key summaries").add_argument("project")
    q = command(project, "quota", _quota, "set quota_spans")
    q.add_argument("project")
    q.add_argument("spans", help="a number of spans, or 'unlimited'")
    command(project, "rotate", _rotate, "fresh keys, older ones revoked (printed once)").add_argument("project")
    command(project, "codes", _show_codes, "the project's recovery and upgrade codes").add_argument("project")
    command(project, "upgrade", _upgrade, "drop plan and expiry from the keys (quota stays)").add_argument("project")

    records = groups.add_parser("records", help="telemetry records").add_subparsers(dest="action", required=True)
    p = command(records, "prune", _prune, "delete records older than N days")
    p.add_argument("--older-than-days", type=float, required=True)
    p.add_argument("--project", help="only this project's records")
