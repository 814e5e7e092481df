"""loopkit: POST /v1/signup/upgrade, sandbox keys become permanent-but-capped.

The agent key's project must present the HMAC code for "signup-upgrade:sandbox:<project_id>".
Plan and expiry are removed from both live keys; quota_spans stays. The answer is a principal
summary: key ids, kinds and standing, never a secret. Upgrading twice changes nothing more.
"""

from __future__ import annotations

from handlers.loopkit import access, codes, projects
from handlers.loopkit.shapes import KeySummary, UpgradeResult, dump
from server import tokens
from server.errors import ApiError
from server.settings import current
from storage.loopkit import Key, Project


def post_signup_upgrade(body: dict):
    caller = access.principal()
    project_id = caller["project_id"]
    secret = codes.server_secret(current())
    if secret is None:
        raise ApiError(403, "upgrade_unavailable", "upgrade code verification failed: no signup secret is configured")
    if not codes.matches(codes.upgrade_code(secret, project_id), body["code"]):
        raise ApiError(403, "invalid_upgrade_code", "upgrade code verification failed")
    # Fallback key fields (pre-index sandboxes upstream): when sent, they must be this project's,
    # and usable as any bearer key must be (a key a recovery revoked is refused, 401).
    for field in ("producer_key", "agent_key"):
        if body.get(field) is not None:
            key = Key.get_or_none(Key.digest == tokens.digest(body[field]))
            kind = field.removesuffix("_key")
            if (key is None or not tokens.matches(key.digest, body[field]) or key.project_id != project_id
                    or key.kind != kind):
                raise ApiError(403, "key_mismatch", f"{field} is not this project's {kind} key")
            projects.refuse_if_unusable(key)
    projects.graduate(project_id)
    project = Project.get_by_id(project_id)
    keys = [KeySummary(**projects.key_summary(k)) for k in projects.active_keys(project_id)]
    result = UpgradeResult(upgraded=True, project_id=project_id, tenant_id=project.tenant_id, plan=None,
                           expires_at=None, quota_spans=project.quota_spans, spans_used=project.spans_used, keys=keys)
    return dump(result)
