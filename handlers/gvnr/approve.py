"""gvnr: the human's side of an approval - the page and the answer (HTML, no key needed:
the unguessable approval id is the capability)."""

from __future__ import annotations

import typing as t

import flask

from handlers.gvnr import approval_page, approvals
from server.settings import current


def get_approve_by_approval_id(approval_id: str) -> flask.Response:
    return _html(approvals.page(current(), approval_id))


def post_approve_by_approval_id_decide(approval_id: str, body: dict[str, t.Any] | None = None) -> flask.Response:
    who = approvals.responder(flask.request.remote_addr)
    decision = (body or {}).get("decision")
    return _html(approvals.decide(current(), approval_id, decision if isinstance(decision, str) else "", who))


def _html(page: approvals.Page) -> flask.Response:
    return flask.Response(page.html, status=page.status, headers=approval_page.HEADERS)
