"""Projects and their keys, as plain functions: mint, graduate, upgrade, rotate, look up.
The handlers, the admin commands (`pentapi loopkit ...`) and the tests all call these.

Every project has one producer key (`lk_ingest_...`, ingest only) and one agent key
(`lk_agent_...`, read and diagnose) at a time. Secrets are returned once, in plaintext, and
stored only as SHA-256 digests.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import typing as t
from dataclasses import dataclass

from handlers.loopkit import codes
from server import tokens
from server.errors import ApiError
from server.settings import Settings
from storage import db
from storage.base import utcnow
from storage.loopkit import Key, Project

PREFIXES = {"producer": "lk_ingest_", "agent": "lk_agent_"}
SCOPES = {
    "producer": ["telemetry:write"],
    "agent": ["runs:write", "telemetry:read", "dashboard:read", "reports:read"],
}
SANDBOX_PLAN = "sandbox"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class ProvisioningError(ValueError):
    """A request the service refuses (unknown project, ...)."""


@dataclass(frozen=True)
class Minted:
    project: Project
    producer_key: str
    agent_key: str
    expires_at: dt.datetime | None
    plan: str | None


def new_project_id(name: str) -> str:
    """`<slug of the name>-<8 hex>`, e.g. "My App!" -> my-app-1a2b3c4d."""
    slug = _NOT_SLUG.sub("-", name.lower()).strip("-")[:40].strip("-") or "project"
    return f"{slug}-{secrets.token_hex(4)}"


def can_graduate(settings: Settings) -> bool:
    """Provision graduates keys only with auto-graduation on and a secret configured."""
    return settings.loopkit_auto_graduate and codes.server_secret(settings) is not None


def _key_rows(project_id: str, plan: str | None, expires_at: dt.datetime | None) -> tuple[list[dict], dict]:
    rows, plaintext = [], {}
    for kind, prefix in PREFIXES.items():
        secret = tokens.mint(prefix)
        plaintext[kind] = secret
        rows.append({"id": "key_" + secrets.token_hex(8), "project": project_id, "kind": kind,
                     "digest": tokens.digest(secret), "plan": plan, "expires_at": expires_at})
    return rows, plaintext


def mint(settings: Settings, name: str, operator: str = "", *, graduate: bool | None = None) -> Minted:
    """Create a project and its two keys in one transaction.

    Raises peewee.IntegrityError when (operator, name) is already claimed: the unique index is
    the race guard, so two concurrent mints of one name can never both succeed.
    """
    graduate = can_graduate(settings) if graduate is None else graduate
    now = utcnow()
    ttl = dt.timedelta(hours=settings.loopkit_sandbox_ttl_hours)
    plan, expires_at = (None, None) if graduate else (SANDBOX_PLAN, now + ttl)
    project_id = new_project_id(name)
    rows, plaintext = _key_rows(project_id, plan, expires_at)
    insert_project = Project.insert(id=project_id, name=name, operator=operator, created_at=now,
                                    quota_spans=settings.loopkit_quota_spans, graduated_at=now if graduate else None)
    insert_keys = Key.insert_many(rows)
    with db.write():
        insert_project.execute()
        insert_keys.execute()
    return Minted(Project.get_by_id(project_id), plaintext["producer"], plaintext["agent"], expires_at, plan)


def find(name: str, operator: str = "") -> Project | None:
    return Project.get_or_none((Project.operator == operator) & (Project.name == name))


def get(project_id: str) -> Project:
    project = Project.get_or_none(Project.id == project_id)
    if project is None:
        raise ProvisioningError(f"unknown project: {project_id}")
    return project


def active_keys(project_id: str) -> list[Key]:
    return list(Key.select().where((Key.project == project_id) & Key.revoked_at.is_null()).order_by(Key.kind))


def graduate(project_id: str) -> None:
    """Permanent-but-capped: drop plan and expiry from the project's live keys (quota stays)."""
    clear = Key.update(plan=None, expires_at=None).where((Key.project == project_id) & Key.revoked_at.is_null())
    mark = Project.update(graduated_at=utcnow()).where((Project.id == project_id) & Project.graduated_at.is_null())
    with db.write():
        clear.execute()
        mark.execute()


def is_graduated(project_id: str) -> bool:
    keys = active_keys(project_id)
    return bool(keys) and all(k.plan is None and k.expires_at is None for k in keys)


def rotate(settings: Settings, project_id: str) -> tuple[str, str, int]:
    """Fresh producer and agent keys; every older key is revoked in the same transaction.

    The new keys keep the project's standing: permanent when graduated, otherwise the sandbox
    plan with the old keys' expiry. Returns (producer_key, agent_key, keys revoked).
    """
    project = get(project_id)
    old = active_keys(project_id)
    if project.graduated_at is not None:
        plan, expires_at = None, None
    else:
        expiries = [k.expires_at for k in old if k.expires_at is not None]
        plan = SANDBOX_PLAN
        expires_at = max(expiries) if expiries else utcnow() + dt.timedelta(hours=settings.loopkit_sandbox_ttl_hours)
    rows, plaintext = _key_rows(project_id, plan, expires_at)
    revoke = Key.update(revoked_at=utcnow()).where((Key.project == project_id) & Key.revoked_at.is_null())
    insert = Key.insert_many(rows)
    with db.write():
        revoked = revoke.execute()
        insert.execute()
    return plaintext["producer"], plaintext["agent"], revoked


def refuse_if_unusable(key: Key) -> None:
    """401 for a key a recovery revoked or a sandbox key past its expiry."""
    if key.revoked_at is not None:
        raise ApiError(401, "key_revoked", "this key was revoked by a recovery; use the keys it returned")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise ApiError(401, "key_expired", "this sandbox key has expired")


def authenticate(secret: str) -> dict[str, t.Any]:
    """The principal of a LoopKit key, or 401. One indexed read (digest -> key and project)."""
    if not secret.startswith(tuple(PREFIXES.values())):
        raise ApiError(401, "invalid_key", "not a LoopKit key (lk_ingest_... or lk_agent_...)")
    row = Key.select(Key, Project).join(Project).where(Key.digest == tokens.digest(secret)).first()
    if row is None or not tokens.matches(row.digest, secret):
        raise ApiError(401, "invalid_key", "unknown key")
    refuse_if_unusable(row)
    return {
        "kind": row.kind,
        "key_id": row.id,
        "project_id": row.project.id,
        "tenant_id": row.project.tenant_id,
        "scopes": SCOPES[row.kind],
    }


def key_summary(key: Key) -> dict[str, t.Any]:
    """What may be shown of a key: never the secret."""
    return {
        "key_id": key.id,
        "kind": key.kind,
        "prefix": PREFIXES[key.kind],
        "scopes": SCOPES[key.kind],
        "plan": key.plan,
        "expires_at": key.expires_at,
        "created_at": key.created_at,
    }
