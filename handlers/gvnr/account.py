"""gvnr: the account routes - provisioning, the operation balance, the notification email
and the top-ups."""

from __future__ import annotations

import re
import typing as t

import flask

from generated.gvnr import models as m
from handlers.gvnr import actions, billing, provisioning, quota, topups
from handlers.gvnr.keys import account_id, invalid_key
from server.errors import ApiError
from server.settings import current
from storage import db, windows
from storage.gvnr import Account, LimitWindow

# The service's check: something@something.something, at most 254 characters (RFC 5321).
_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
EMAIL_MAX = 254


def post_account() -> tuple[dict[str, t.Any], int, dict[str, str]] | tuple[dict[str, t.Any], int]:
    """Mint an account and its key; each client address may create a limited number per window."""
    settings = current()
    address = flask.request.remote_addr or "-"
    decision = windows.hit(LimitWindow, f"account:ip:{address}", settings.gvnr_account_limit_per_ip,
                          settings.gvnr_account_limit_window_seconds)
    if not decision.allowed:
        window = settings.gvnr_account_limit_window_seconds
        raise ApiError(
            429, "rate_limited", "too many accounts created from this address; retry after retry_after_ms",
            headers={"Retry-After": str(decision.retry_after)},
            retry_after_ms=decision.retry_after_ms,
            limit=f"{settings.gvnr_account_limit_per_ip} accounts per {window} s per client address",
        )
    account, key = provisioning.create_account(ops=settings.gvnr_signup_trial_ops)
    body = m.V1AccountPostResponse(api_key=key, account_id=account.id, operations_remaining=account.ops_remaining)
    return body.model_dump(mode="json"), 201


def get_account_balance() -> dict[str, t.Any]:
    return actions.get_balance(account_id())


def post_account_topup_verify(body: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """Credit a USDC transfer to the pay-to address, verified on-chain, once per transaction."""
    credit = _verified_transfer(body)
    return m.V1AccountTopupVerifyPostResponse(**vars(credit)).model_dump(mode="json", exclude_none=True)


def post_account_topup_verify_by_pack(pack: str, body: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The back-compat alias: the pack segment is ignored; what arrived on-chain is credited."""
    credit = _verified_transfer(body)
    return m.V1AccountTopupVerifyPackPostResponse(**vars(credit)).model_dump(mode="json", exclude_none=True)


def _verified_transfer(body: dict[str, t.Any] | None) -> topups.Credit:
    body = body or {}
    try:
        return topups.verify_transfer(current(), account_id(), body.get("tx_hash"), body.get("signature"))
    except quota.UnknownAccount:
        raise invalid_key() from None


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


def post_account_topup(usd: float) -> tuple[dict[str, t.Any], int, dict[str, str]]:
    """x402 pay-as-you-go: 402 with the quote for `usd` (whole cents), or credit its payment once."""
    amount = billing.whole_cents(usd)
    units = billing.base_units(amount)
    paid = _x402(units, f"Gvnr top-up: {billing.ops_for_base_units(units):,} governance operations (${amount})")
    if paid.credit is None:
        return _payment_required(paid)
    credit = paid.credit
    body = m.V1AccountTopupPostResponse(operations_remaining=credit.operations_remaining,
                                        credited_ops=credit.credited_ops or 0, credited_usd=credit.credited_usd or 0)
    return body.model_dump(mode="json"), 200, paid.headers


def post_account_topup_by_pack(pack: str) -> tuple[dict[str, t.Any], int, dict[str, str]]:
    """x402 at a preset price: 402 with the pack's quote, or credit its payment once."""
    units = billing.PACKS[pack] * billing.BASE_UNITS_PER_USD
    paid = _x402(units, f"Gvnr {pack} pack: {billing.ops_for_base_units(units):,} governance operations")
    if paid.credit is None:
        return _payment_required(paid)
    body = m.V1AccountTopupPackPostResponse(operations_remaining=paid.credit.operations_remaining,
                                            pack=m.Pack(pack), credited_ops=paid.credit.credited_ops)
    return body.model_dump(mode="json", exclude_none=True), 200, paid.headers


def _x402(units: int, description: str) -> topups.Paid:
    try:
        return topups.pay_x402(current(), account_id(), units, flask.request.headers, flask.request.url,
                               description)
    except quota.UnknownAccount:
        raise invalid_key() from None


def _payment_required(paid: topups.Paid) -> tuple[dict[str, t.Any], int, dict[str, str]]:
    """402: the x402 requirements are in the PAYMENT-REQUIRED header; the body says so in Gvnr's words."""
    hint = f"{paid.error}: pay with an x402 client; the requirements are in the PAYMENT-REQUIRED header"
    return {"error": "payment_required", "hint": hint, "retryable": True}, 402, paid.headers
