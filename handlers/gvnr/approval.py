"""gvnr: handlers for approval operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postApprovalRequest")
def post_approval_request(**kwargs):
    """POST /v1/approval/request (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getApprovalCheckByApprovalId")
def get_approval_check_by_approval_id(**kwargs):
    """GET /v1/approval/check/{approval_id} (scaffolded by `pentapi generate`: answers 501 until written)."""
