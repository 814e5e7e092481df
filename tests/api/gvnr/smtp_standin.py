"""A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """`with SmtpServer() as smtp:` ... `smtp.port`, `smtp.inbox.messages`."""

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.inbox = Inbox()
        self.port = _free_port()
        options = {}
        if username is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = auth_data.login.decode() == username and auth_data.password.decode() == password
                if ok:
                    self.inbox.logins.append((username, password))
                return AuthResult(success=ok)
            options = {"authenticator": authenticate, "auth_require_tls": False}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
