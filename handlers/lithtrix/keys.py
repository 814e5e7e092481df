"""lithtrix: POST /v1/keys/rotate, a new key; the presented one fails from now on."""

from __future__ import annotations

from generated.lithtrix.models import KeyRotateResponse
from handlers.lithtrix import access, agents
from handlers.lithtrix.security import INVALID_KEY
from server.errors import ApiError


def rotate_api_key_v1_keys_rotate_post() -> dict:
    new_key = agents.rotate(access.agent().id, access.key_hash())
    if new_key is None:  # a concurrent rotation with the same key won
        raise ApiError(401, "INVALID_API_KEY", INVALID_KEY)
    return KeyRotateResponse(api_key=new_key).model_dump(mode="json")
