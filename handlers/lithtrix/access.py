"""The HTTP edge shared by Lithtrix's route modules: the authenticated agent of this request."""

from __future__ import annotations

import connexion
from connexion import context

from server.settings import current
from storage.lithtrix import Agent


def agent() -> Agent:
    """The agent row read by the security function (handlers/lithtrix/security.py)."""
    return context.context["token_info"]["agent"]


def key_hash() -> str:
    """The SHA-256 of the key this request presented."""
    return context.context["token_info"]["key_hash"]


def base_url() -> str:
    """Where this API is served: PENTAPI_PUBLIC_URL (or the request's origin) + its mount."""
    base = connexion.request.scope.get("extensions", {}).get("connexion_routing", {}).get("api_base_path", "")
    origin = current().public_url.rstrip("/") or str(connexion.request.base_url).rstrip("/")
    return origin + base
