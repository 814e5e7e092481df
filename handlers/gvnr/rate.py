"""gvnr: handlers for rate operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("putRateEnvelope")
def put_rate_envelope(**kwargs):
    """PUT /v1/rate/envelope (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getRateEnvelopeByAgentIdByProviderByModel")
def get_rate_envelope_by_agent_id_by_provider_by_model(**kwargs):
    """GET /v1/rate/envelope/{agent_id}/{provider}/{model}

    Scaffolded by `pentapi generate`: answers 501 until written.
    """


@scaffold("deleteRateEnvelopeByAgentIdByProviderByModel")
def delete_rate_envelope_by_agent_id_by_provider_by_model(**kwargs):
    """DELETE /v1/rate/envelope/{agent_id}/{provider}/{model}

    Scaffolded by `pentapi generate`: answers 501 until written.
    """


@scaffold("postRateCheck")
def post_rate_check(**kwargs):
    """POST /v1/rate/check (scaffolded by `pentapi generate`: answers 501 until written)."""
