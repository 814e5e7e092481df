"""gvnr: handlers for account operations (see specs/gvnr.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postAccount")
def post_account(**kwargs):
    """POST /v1/account (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getAccountBalance")
def get_account_balance(**kwargs):
    """GET /v1/account/balance (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountTopupVerify")
def post_account_topup_verify(**kwargs):
    """POST /v1/account/topup-verify (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountTopupVerifyByPack")
def post_account_topup_verify_by_pack(**kwargs):
    """POST /v1/account/topup-verify/{pack} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getAccountNotificationEmail")
def get_account_notification_email(**kwargs):
    """GET /v1/account/notification-email (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountNotificationEmail")
def post_account_notification_email(**kwargs):
    """POST /v1/account/notification-email (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("deleteAccountNotificationEmail")
def delete_account_notification_email(**kwargs):
    """DELETE /v1/account/notification-email (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountTopup")
def post_account_topup(**kwargs):
    """POST /v1/account/topup (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountTopupByPack")
def post_account_topup_by_pack(**kwargs):
    """POST /v1/account/topup/{pack} (scaffolded by `pentapi generate`: answers 501 until written)."""
