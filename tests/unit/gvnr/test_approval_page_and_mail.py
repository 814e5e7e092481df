"""The approval page's HTML and the approval email, sent through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket

import pytest

from handlers.gvnr import approval_page as page
from handlers.gvnr import notify
from server.settings import Settings
from tests.api.gvnr.smtp_standin import SmtpServer

NOW = 1_760_000_000_000
HOSTILE = '<script>alert(1)</script> & "quotes" \n second line'


def view(**changes) -> page.View:
    base = dict(approval_id="AbC-123_xyz", agent_id="deploy-bot<b>", action_summary=HOSTILE,
                created_at=NOW, expires_at=NOW + 600_000, decision="pending")
    return page.View(**{**base, **changes})


@pytest.mark.parametrize(("ms", "text"), [
    (1, "~1 min"), (29_000, "~1 min"), (600_000, "~10 min"), (89 * 60_000, "~89 min"),
    (3 * 3_600_000, "~3 h"), (7 * 86_400_000, "~7 days"),
])
def test_time_left(ms, text):
    assert page.time_left(ms) == text


def test_pending_page_escapes_everything_and_posts_two_forms():
    text = page.pending(view(), NOW)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "deploy-bot&lt;b&gt;" in text
    assert text.count('<form method="post" action="AbC-123_xyz/decide">') == 2
    assert 'name="decision" value="approved"' in text and 'name="decision" value="denied"' in text
    assert "Expires in ~10 min" in text
    assert "<script" not in text.lower().replace("&lt;script", "")  # no script of our own either


def test_terminal_pages_name_the_state():
    assert "Approved 2025-10-09" in page.terminal(view(decision="approved", decided_at=NOW))
    assert "Denied" in page.terminal(view(decision="denied", decided_at=NOW))
    expired = page.terminal(view(decision="timeout"), notice="too late")
    assert "Expired before decision" in expired and "too late" in expired
    assert "<form" not in expired


def test_headers_forbid_scripts_framing_caching_and_indexing():
    csp = page.HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.HEADERS["Cache-Control"] == "no-store"
    assert page.HEADERS["X-Robots-Tag"].startswith("noindex")


REQUEST = notify.Request("AbC-123_xyz", "deploy-bot\r\nBcc: evil@example.com", HOSTILE,
                         NOW + 600_000, NOW, "http://127.0.0.1:9/gvnr/approve/AbC-123_xyz")


def smtp_settings(port: int, **changes) -> Settings:
    return Settings().replace(gvnr_smtp_host="127.0.0.1", gvnr_smtp_port=port, gvnr_smtp_security="none",
                              gvnr_smtp_from="Gvnr <approvals@gvnr.test>", **changes)


def test_email_is_sent_through_smtp_with_the_link_and_no_header_injection():
    with SmtpServer() as smtp:
        outcome = notify.dispatch(smtp_settings(smtp.port), REQUEST, "owner@example.com")
    assert outcome == notify.Outcome("sent")
    assert smtp.inbox.envelopes == [("approvals@gvnr.test", ["owner@example.com"])]
    message = smtp.inbox.messages[0]
    assert message["Subject"] == "Approval needed: deploy-bot  Bcc: evil@example.com"
    assert message["Bcc"] is None
    plain = message.get_body(("plain",)).get_content()
    assert REQUEST.url in plain and "second line" in plain
    rich = message.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in rich and "<script>" not in rich


def test_smtp_login_uses_the_configured_credentials():
    with SmtpServer(username="mailer", password="s3cret") as smtp:
        ok = notify.dispatch(smtp_settings(smtp.port, gvnr_smtp_username="mailer", gvnr_smtp_password="s3cret"),
                             REQUEST, "owner@example.com")
        bad = notify.dispatch(smtp_settings(smtp.port, gvnr_smtp_username="mailer", gvnr_smtp_password="nope",
                                            gvnr_smtp_timeout_seconds=2), REQUEST, "owner@example.com")
    assert ok.status == "sent" and smtp.inbox.logins == [("mailer", "s3cret")]
    assert bad.status == "failed" and bad.error and "nope" not in bad.error  # refused, password not echoed
    assert len(smtp.inbox.messages) == 1


def test_unreachable_smtp_is_failed_with_the_error():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = notify.dispatch(smtp_settings(port, gvnr_smtp_timeout_seconds=2), REQUEST, "owner@example.com")
    assert outcome.status == "failed" and "ConnectionRefusedError" in outcome.error
    assert outcome.as_dict() == {"email": "failed", "error": outcome.error}


def test_no_transport_logs_the_link_and_no_address_sends_nothing(caplog):
    caplog.set_level("INFO", logger="pentapi.gvnr.approvals")
    assert notify.dispatch(Settings().replace(gvnr_smtp_host=""), REQUEST, "owner@example.com").status \
        == "skipped_no_key"
    assert REQUEST.url in caplog.text
    assert notify.dispatch(smtp_settings(9), REQUEST, None).as_dict() == {"email": "no_address"}
