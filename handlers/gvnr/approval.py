"""gvnr: the agent's side of human approvals - ask, then poll."""

from __future__ import annotations

import typing as t

import flask

from generated.gvnr import models as m
from handlers.gvnr import approvals
from handlers.gvnr.keys import account_id
from server.settings import current

REQUEST_PATH = "/v1/approval/request"


def post_approval_request(body: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Create an approval request and email its link to the account's notification address."""
    created = approvals.request(current(), account_id(), body or {}, _site_url(REQUEST_PATH))
    return m.V1ApprovalRequestPostResponse(**created).model_dump(mode="json", exclude_none=True)


def get_approval_check_by_approval_id(approval_id: str) -> dict[str, t.Any]:
    state = approvals.check(current(), account_id(), approval_id)
    return m.V1ApprovalCheckApprovalIdGetResponse(**state).model_dump(mode="json", exclude_none=True)


def _site_url(own_path: str) -> str:
    """Where this server's Gvnr is reachable: PENTAPI_PUBLIC_URL (or the request's origin) plus the
    mount prefix the request came through (/gvnr when all five APIs share the server)."""
    path = flask.request.path
    prefix = path[: -len(own_path)] if path.endswith(own_path) else ""
    origin = current().public_url.rstrip("/") or flask.request.host_url.rstrip("/")
    return origin + prefix
