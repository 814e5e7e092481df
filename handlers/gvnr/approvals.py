"""Human approvals: an agent asks (request), a human answers on a page (decide), the agent
polls (check). REST and MCP call these same functions.

A decision is recorded exactly once by one conditional UPDATE (`... WHERE decision =
'pending' AND expires_at >= now`): of two racing answers, or an answer racing the expiry,
exactly one wins and the rest see the terminal state. Requests per account are counted in
a shared fixed window (storage/windows.py), exact across worker processes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import typing as t
from dataclasses import dataclass

from handlers.gvnr import approval_page, notify
from server.errors import ApiError
from server.settings import Settings
from storage import db, windows
from storage.gvnr import Account, Approval, LimitWindow

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TTL_SECONDS = 600
MAX_TTL_SECONDS = 604_800
CHANNELS = ("email", "telegram", "sms")
IMPLEMENTED_CHANNELS = ("email",)
RATE_WINDOW_SECONDS = 60


def _now_ms() -> int:
    return int(time.time() * 1000)


# ------------------------------------------------------------------ request

def request(settings: Settings, account_id: str, body: t.Mapping[str, t.Any], site_url: str) -> dict[str, t.Any]:
    """Create an approval and notify the account's human; the body of POST /v1/approval/request."""
    limit = settings.gvnr_approval_limit_per_minute
    window = windows.hit(LimitWindow, f"approval:{account_id}", limit, RATE_WINDOW_SECONDS)
    if not window.allowed:
        raise ApiError(429, "rate_limited", "too many approval requests; retry after retry_after_ms",
                       headers={"Retry-After": str(window.retry_after)},
                       retryable=True, retry_after_ms=window.retry_after_ms,
                       limit=f"{limit} request_approval calls per minute")
    agent_id, summary, ttl, channels = _validated(body)
    address = _address(account_id)
    if address is None:
        raise ApiError(400, "notification_email_unset",
                       "set the account's notification email first: POST /v1/account/notification-email",
                       retryable=False)

    now = _now_ms()
    approval = Approval(id=secrets.token_urlsafe(16), account=account_id, agent_id=agent_id,
                        action_summary=summary, channels=" ".join(channels), requested_at=now,
                        expires_at=now + ttl * 1000)
    purge = Approval.delete().where(Approval.expires_at < now - settings.gvnr_approval_grace_seconds * 1000)
    with db.write():
        approval.save(force_insert=True)
        purge.execute()

    url = f"{site_url}/approve/{approval.id}"
    # Read the address again: if it was erased meanwhile, nothing is sent (no_address).
    outcome = notify.dispatch(settings, notify.Request(approval.id, agent_id, summary, approval.expires_at, now, url),
                              _address(account_id))
    mark = Approval.update(email_status=outcome.status).where(Approval.id == approval.id)
    with db.write():
        mark.execute()
    return {"approval_id": approval.id, "approval_url": url, "expires_at": approval.expires_at,
            "notification": outcome.as_dict()}


def _address(account_id: str) -> str | None:
    row = Account.select(Account.notification_email).where(Account.id == account_id).first()
    return row.notification_email if row else None


def _validated(body: t.Mapping[str, t.Any]) -> tuple[str, str, int, list[str]]:
    """The service's checks, in its order (the REST schema catches most of them first)."""
    agent_id = body.get("agent_id")
    if not isinstance(agent_id, str) or not 1 <= len(agent_id) <= 128:
        raise ApiError(400, "invalid_agent_id", "agent_id: 1..128 chars", retryable=False)
    summary = body.get("action_summary")
    if not isinstance(summary, str) or not 1 <= len(summary) <= 280:
        raise ApiError(400, "invalid_action_summary", "action_summary: 1..280 chars", retryable=False)
    ttl = body.get("ttl_seconds", DEFAULT_TTL_SECONDS)
    if ttl is None:
        ttl = DEFAULT_TTL_SECONDS
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL_SECONDS:
        raise ApiError(400, "invalid_ttl_seconds", f"ttl_seconds: integer 1..{MAX_TTL_SECONDS}", retryable=False)
    channels = body.get("channels", ["email"])
    if channels is None:
        channels = ["email"]
    if (not isinstance(channels, list) or not channels
            or any(not isinstance(c, str) or c not in CHANNELS for c in channels)):
        raise ApiError(400, "invalid_channels", "channels: a non-empty list of email, telegram, sms",
                       valid_channels=list(CHANNELS))
    if any(c not in IMPLEMENTED_CHANNELS for c in channels):
        raise ApiError(400, "channel_not_implemented", "only email notifications are available; use [\"email\"]",
                       valid_channels=list(IMPLEMENTED_CHANNELS), retryable=False)
    return agent_id, summary, ttl, list(dict.fromkeys(channels))


# ------------------------------------------------------------------ check

def _live(approval_id: str, settings: Settings, now: int, account_id: str | None = None) -> Approval | None:
    """The approval, unless unknown, malformed, another account's, or purged past its grace."""
    if not isinstance(approval_id, str) or not ID.match(approval_id):
        return None
    query = Approval.select().where(Approval.id == approval_id)
    if account_id is not None:
        query = query.where(Approval.account == account_id)
    row = query.first()
    if row is None or now > row.expires_at + settings.gvnr_approval_grace_seconds * 1000:
        return None
    return row


def _decision(row: Approval, now: int) -> str:
    if row.decision == "pending" and now > row.expires_at:
        return "timeout"
    return row.decision


def check(settings: Settings, account_id: str, approval_id: str) -> dict[str, t.Any]:
    """The body of GET /v1/approval/check/{id}; 404 approval_not_found for anything not this account's."""
    now = _now_ms()
    row = _live(approval_id, settings, now, account_id)
    if row is None:
        raise ApiError(404, "approval_not_found", "no such approval for this account (or it expired long ago)",
                       retryable=False)
    body: dict[str, t.Any] = {"approval_id": row.id, "decision": _decision(row, now), "agent_id": row.agent_id,
                              "action_summary": row.action_summary, "created_at": row.requested_at,
                              "expires_at": row.expires_at}
    if row.decision in ("approved", "denied"):
        body.update(responder=row.responder, decided_at=row.decided_at)
    return body


# ------------------------------------------------------------------ the human's page

@dataclass(frozen=True)
class Page:
    html: str
    status: int


NOT_FOUND = "This approval link is unknown or has expired."


def _view(row: Approval, now: int) -> approval_page.View:
    return approval_page.View(row.id, row.agent_id, row.action_summary, row.requested_at, row.expires_at,
                              _decision(row, now), row.decided_at)


def page(settings: Settings, approval_id: str) -> Page:
    now = _now_ms()
    row = _live(approval_id, settings, now)
    if row is None:
        return Page(approval_page.message("Approval not found", NOT_FOUND), 404)
    view = _view(row, now)
    if view.decision == "pending":
        return Page(approval_page.pending(view, now), 200)
    return Page(approval_page.terminal(view), 200)


def responder(client_address: str | None) -> str:
    """Who answered, without storing their address: ip:<12 hex of its SHA-256>, or anonymous."""
    if not client_address:
        return "anonymous"
    return "ip:" + hashlib.sha256(client_address.encode()).hexdigest()[:12]


def decide(settings: Settings, approval_id: str, decision: str, who: str) -> Page:
    """Record the human's answer once; a late or second answer gets the terminal page, unchanged."""
    if decision not in ("approved", "denied"):
        return Page(approval_page.message("Invalid decision", "Answer with Approve or Deny."), 400)
    now = _now_ms()
    row = _live(approval_id, settings, now)
    if row is None:
        return Page(approval_page.message("Approval not found", NOT_FOUND), 404)
    record = (Approval.update(decision=decision, responder=who, decided_at=now)
              .where((Approval.id == row.id) & (Approval.decision == "pending") & (Approval.expires_at >= now)))
    with db.write():
        won = record.execute() == 1
    row = Approval.get_by_id(row.id)
    view = _view(row, now)
    if won:
        return Page(approval_page.recorded(view), 200)
    if view.decision == "timeout":
        notice = "This request expired before anyone answered; your answer was not recorded."
    else:
        notice = f"This request was already {view.decision}; your answer was not recorded."
    return Page(approval_page.terminal(view, notice), 200)
