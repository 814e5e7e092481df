"""gvnr: handlers for approve operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getApproveByApprovalId")
def get_approve_by_approval_id(**kwargs):
    """GET /approve/{approval_id} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postApproveByApprovalIdDecide")
def post_approve_by_approval_id_decide(**kwargs):
    """POST /approve/{approval_id}/decide (scaffolded by `pentapi generate`: answers 501 until written)."""
