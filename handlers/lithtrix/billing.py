"""lithtrix: handlers for billing operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("get_billing_config_v1_billing_config_get")
def get_billing_config_v1_billing_config_get(**kwargs):
    """GET /v1/billing/config (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("get_billing_v1_billing_get")
def get_billing_v1_billing_get(**kwargs):
    """GET /v1/billing (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("post_billing_setup_v1_billing_setup_post")
def post_billing_setup_v1_billing_setup_post(**kwargs):
    """POST /v1/billing/setup (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("post_billing_webhook_v1_billing_webhook_post")
def post_billing_webhook_v1_billing_webhook_post(**kwargs):
    """POST /v1/billing/webhook (scaffolded by `pentapi generate`: answers 501 until written)."""
