"""gvnr: handlers for budget operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postBudgetClear")
def post_budget_clear(**kwargs):
    """POST /v1/budget/clear (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postBudgetReconcile")
def post_budget_reconcile(**kwargs):
    """POST /v1/budget/reconcile (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("putBudgetEnvelope")
def put_budget_envelope(**kwargs):
    """PUT /v1/budget/envelope (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getBudgetEnvelopeByAgentId")
def get_budget_envelope_by_agent_id(**kwargs):
    """GET /v1/budget/envelope/{agent_id} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("deleteBudgetEnvelopeByAgentId")
def delete_budget_envelope_by_agent_id(**kwargs):
    """DELETE /v1/budget/envelope/{agent_id} (scaffolded by `pentapi generate`: answers 501 until written)."""
