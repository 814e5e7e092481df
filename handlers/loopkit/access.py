"""The HTTP edge shared by LoopKit's route modules: who is calling, from where, and the base
URL links are built on."""

from __future__ import annotations

import typing as t

import flask
from connexion import context

from server.errors import ApiError
from server.settings import current


def principal() -> dict[str, t.Any]:
    """The key's principal set by handlers.loopkit.security."""
    return context.context["token_info"]


def bearer() -> str | None:
    """The bearer secret of a route without a security scheme (provision), or None."""
    header = flask.request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "invalid_authorization", "send the key as Authorization: Bearer <key>")
    return secret.strip()


def client_address() -> str:
    return flask.request.remote_addr or "-"


def base_url(operation_path: str) -> str:
    """Where this API is mounted, as clients reach it: PENTAPI_PUBLIC_URL (or the request's host)
    plus the mount prefix (/loopkit when all five APIs share a server)."""
    path = flask.request.path
    prefix = path[: -len(operation_path)] if path.endswith(operation_path) else ""
    host = current().public_url.rstrip("/") or flask.request.host_url.rstrip("/")
    return host + prefix


def links(base: str) -> dict[str, str]:
    return {
        "ingest_url": f"{base}/v1/traces",
        "diagnose_url": f"{base}/v1/runs/diagnose",
        "dashboard_url": f"{base}/v1/dashboard",
    }
