"""Telling the human: the approval email, sent through SMTP when one is configured.

The outcome is what the API reports per channel: `sent`, `failed` (with the error),
`skipped_no_key` (no mail transport configured: the link is logged instead, so a local
operator can still open it) or `no_address` (no address to send to).
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from handlers.gvnr.approval_page import time_left, utc
from server.settings import Settings

log = logging.getLogger("pentapi.gvnr.approvals")


@dataclass(frozen=True)
class Request:
    approval_id: str
    agent_id: str
    action_summary: str
    expires_at: int  # unix ms
    created_at: int
    url: str


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | failed | skipped_no_key | no_address
    error: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"email": self.status, **({"error": self.error} if self.error else {})}


def _one_line(text: str, limit: int) -> str:
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def compose(request: Request, to: str, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Approval needed: {_one_line(request.agent_id, 80)}"
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="gvnr.local")
    left = time_left(request.expires_at - request.created_at)
    message.set_content(
        f"The agent {request.agent_id} asks for your approval:\n\n"
        f"    {request.action_summary}\n\n"
        f"Approve or deny: {request.url}\n\n"
        f"The request expires in {left} ({utc(request.expires_at)}). Anyone with the link can answer.\n"
    )
    e = html.escape
    message.add_alternative(
        f"<p>The agent <b>{e(request.agent_id)}</b> asks for your approval:</p>"
        f'<blockquote style="white-space:pre-wrap">{e(request.action_summary)}</blockquote>'
        f'<p><a href="{e(request.url)}" style="font-size:18px;font-weight:bold">Approve or deny</a></p>'
        f"<p>The request expires in {e(left)} ({e(utc(request.expires_at))}). "
        "Anyone with the link can answer.</p>",
        subtype="html",
    )
    return message


def send(settings: Settings, message: EmailMessage) -> Outcome:
    """One SMTP conversation; any failure is reported, never raised."""
    host, port, timeout = settings.gvnr_smtp_host, settings.gvnr_smtp_port, settings.gvnr_smtp_timeout_seconds
    security = settings.gvnr_smtp_security.lower()
    try:
        if security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.gvnr_smtp_username:
                smtp.login(settings.gvnr_smtp_username, settings.gvnr_smtp_password)
            refused = smtp.send_message(message)
        if refused:
            return Outcome("failed", f"recipient refused: {', '.join(refused)}")
        return Outcome("sent")
    except (smtplib.SMTPException, OSError, ssl.SSLError, ValueError) as exc:
        return Outcome("failed", _one_line(f"{type(exc).__name__}: {exc}", 300))


def dispatch(settings: Settings, request: Request, address: str | None) -> Outcome:
    if not address:
        return Outcome("no_address")
    if not settings.gvnr_smtp_host:
        log.info("approval %s for agent %s: no SMTP configured (GVNR_SMTP_HOST); approve or deny at %s",
                 request.approval_id, _one_line(request.agent_id, 128), request.url)
        return Outcome("skipped_no_key")
    outcome = send(settings, compose(request, address, settings.gvnr_smtp_from))
    if outcome.status == "failed":
        log.warning("approval %s: email to the account's address failed: %s", request.approval_id, outcome.error)
    return outcome
