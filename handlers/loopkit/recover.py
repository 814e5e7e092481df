"""loopkit: POST /v1/recover, rotate lost keys with the project's recovery code.

Order of refusal: 429 (per client address, counted first so guessing codes is slow), 503 (no
secret configured), 404 (no such project), 403 (wrong code). A valid code mints fresh
producer and agent keys and revokes every older key in one transaction; the code itself does
not change (it depends only on the project id and the secret).
"""

from __future__ import annotations

from handlers.loopkit import access, codes, projects, ratelimit
from handlers.loopkit.shapes import RecoverResult, dump
from server.errors import ApiError
from server.settings import current
from storage.loopkit import Project

PATH = "/v1/recover"


def post_recover(body: dict):
    settings = current()
    headers = ratelimit.enforce(f"recover:{access.client_address()}", settings.loopkit_recover_rate_limit,
                                settings.loopkit_rate_window_seconds, "recovery")
    secret = codes.server_secret(settings)
    if secret is None:
        raise ApiError(503, "recovery_unavailable", "recovery is unavailable: no signup secret is configured",
                       headers=headers)
    project_id = body["project_id"]
    if Project.get_or_none(Project.id == project_id) is None:
        raise ApiError(404, "project_not_found", "no such project", headers=headers)
    if not codes.matches(codes.recovery_code(secret, project_id), body["recovery_code"]):
        raise ApiError(403, "invalid_recovery_code", "recovery code verification failed", headers=headers)
    producer_key, agent_key, revoked = projects.rotate(settings, project_id)
    result = RecoverResult(project_id=project_id, producer_key=producer_key, agent_key=agent_key,
                           revoked_keys=revoked, **access.links(access.base_url(PATH)))
    return dump(result), 200, headers
