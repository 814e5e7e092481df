"""loopkit: POST /v1/provision, idempotent onboarding.

MINT when (operator, project_name) is unclaimed: public, rate-limited per client address,
race-guarded by the unique index on (operator, name). RESUME with one of that project's own
keys: non-rotating (no key is returned, nothing is deleted), graduating in place.
"""

from __future__ import annotations

import datetime as dt

import peewee

from handlers.loopkit import access, codes, projects, ratelimit
from handlers.loopkit.shapes import MintResult, ProvisionResult, dump
from server.errors import ApiError
from server.settings import Settings, current
from storage.base import utcnow
from storage.loopkit import Project

PATH = "/v1/provision"


def post_provision(body: dict):
    settings = current()
    name, operator = body["project_name"], body.get("operator") or ""
    secret = access.bearer()
    if secret is not None:
        caller = projects.authenticate(secret)
        existing = projects.find(name, operator)
        if existing is not None:
            if caller["project_id"] != existing.id:
                raise ApiError(403, "forbidden_project", "this key does not authorize that project")
            return _resume(settings, existing), 200
    headers = ratelimit.enforce(f"provision:{access.client_address()}", settings.loopkit_provision_rate_limit,
                                settings.loopkit_rate_window_seconds, "provision")
    try:
        minted = projects.mint(settings, name, operator)
    except peewee.IntegrityError:
        raise _claimed(settings, projects.find(name, operator)) from None
    return _minted(settings, minted), 201, headers


def _claimed(settings: Settings, winner: Project | None) -> ApiError:
    """The name is taken: 409 when another mint claimed it moments ago (a concurrent mint of the
    same name), 401 when it is an established project that needs its key to resume."""
    race = dt.timedelta(seconds=settings.loopkit_mint_race_seconds)
    if winner is not None and utcnow() - winner.created_at < race:
        return ApiError(409, "name_claimed",
                        "this project name was just claimed by another mint; resume with the owning key")
    return ApiError(401, "resume_requires_key",
                    "this project exists: resume with Authorization: Bearer <its producer or agent key>")


def _recovery_code(settings: Settings, project_id: str) -> str | None:
    secret = codes.server_secret(settings)
    return codes.recovery_code(secret, project_id) if secret else None


def _resume(settings: Settings, project: Project) -> dict:
    if projects.can_graduate(settings):
        projects.graduate(project.id)
    keys = projects.active_keys(project.id)
    expiries = [k.expires_at for k in keys if k.expires_at is not None]
    result = ProvisionResult(
        resumed=True,
        graduated=projects.is_graduated(project.id),
        project_id=project.id,
        project_name=project.name,
        operator=project.operator or None,
        tenant_id=project.tenant_id,
        plan=next((k.plan for k in keys if k.plan), None),
        quota_spans=project.quota_spans,
        spans_used=Project.get_by_id(project.id).spans_used,
        expires_at=max(expiries) if expiries else None,
        recovery_code=_recovery_code(settings, project.id),
        **access.links(access.base_url(PATH)),
    )
    return dump(result)


def _minted(settings: Settings, minted: projects.Minted) -> dict:
    project = minted.project
    result = MintResult(
        resumed=False,
        graduated=minted.plan is None,
        project_id=project.id,
        project_name=project.name,
        operator=project.operator or None,
        tenant_id=project.tenant_id,
        plan=minted.plan,
        quota_spans=project.quota_spans,
        spans_used=0,
        expires_at=minted.expires_at,
        recovery_code=_recovery_code(settings, project.id),
        producer_key=minted.producer_key,
        agent_key=minted.agent_key,
        **access.links(access.base_url(PATH)),
    )
    return dump(result)
