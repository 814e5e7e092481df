"""gvnr: the account routes - provisioning, the operation balance, the notification email
and the top-ups."""

from __future__ import annotations

import re
import typing as t

import flask

from generated.gvnr import models as m
from handlers.gvnr import actions, limits, provisioning
from handlers.gvnr.keys import account_id
from server.errors import ApiError
from server.scaffold import scaffold
from server.settings import current
from storage import db
from storage.gvnr import Account

# The service's check: something@something.something, at most 254 characters (RFC 5321).
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
EMAIL_MAX = 254


def post_account() -> tuple[dict[str, t.Any], int, dict[str, str]] | tuple[dict[str, t.Any], int]:
    """Mint an account and its key; each client address may create a limited number per window."""
    settings = current()
    address = flask.request.remote_addr or "-"
    decision = limits.hit(f"account:ip:{address}", settings.gvnr_account_limit_per_ip,
                          settings.gvnr_account_limit_window_seconds)
    if not decision.allowed:
        window = settings.gvnr_account_limit_window_seconds
        raise ApiError(
            429, "rate_limited", "too many accounts created from this address; retry after retry_after_ms",
            headers={"Retry-After": str(max(1, -(-decision.retry_after_ms // 1000)))},
            retry_after_ms=decision.retry_after_ms,
            limit=f"{settings.gvnr_account_limit_per_ip} accounts per {window} s per client address",
        )
    account, key = provisioning.create_account(ops=settings.gvnr_signup_trial_ops)
    body = m.V1AccountPostResponse(api_key=key, account_id=account.id, operations_remaining=account.ops_remaining)
    return body.model_dump(mode="json"), 201


def get_account_balance() -> dict[str, t.Any]:
    return actions.get_balance(account_id())


@scaffold("postAccountTopupVerify")
def post_account_topup_verify(**kwargs):
    """POST /v1/account/topup-verify (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountTopupVerifyByPack")
def post_account_topup_verify_by_pack(**kwargs):
    """POST /v1/account/topup-verify/{pack} (scaffolded by `pentapi generate`: answers 501 until written)."""


def get_account_notification_email() -> dict[str, t.Any]:
    row = Account.select(Account.notification_email).where(Account.id == account_id()).first()
    email = row.notification_email if row else None
    return m.V1AccountNotificationEmailGetResponse(notification_email=email).model_dump(mode="json")


def post_account_notification_email(body: dict[str, t.Any]) -> dict[str, t.Any]:
    email = body["email"]
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise ApiError(400, "invalid_email", f"email must look like name@example.com (at most {EMAIL_MAX} characters)",
                       required=["email: address like name@example.com, at most 254 characters"])
    _set_email(email)
    return m.V1AccountNotificationEmailPostResponse(ok=True, notification_email=email).model_dump(mode="json")


def delete_account_notification_email() -> dict[str, t.Any]:
    """Erases the stored address (right to erasure); deleting an unset address is fine too."""
    _set_email(None)
    return m.V1AccountNotificationEmailDeleteResponse(ok=True).model_dump(mode="json")


def _set_email(email: str | None) -> None:
    query = Account.update(notification_email=email).where(Account.id == account_id())
    with db.write():
        query.execute()


@scaffold("postAccountTopup")
def post_account_topup(**kwargs):
    """POST /v1/account/topup (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postAccountTopupByPack")
def post_account_topup_by_pack(**kwargs):
    """POST /v1/account/topup/{pack} (scaffolded by `pentapi generate`: answers 501 until written)."""
