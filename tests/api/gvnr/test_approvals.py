"""Human approvals over HTTP: request (with the email through a real SMTP server), check, the
HTML page and the one-time decision."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import db
from storage.gvnr import Approval
from tests.api.gvnr.conftest import P
from tests.api.gvnr.smtp_standin import SmtpServer

OWNER = "owner@example.com"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def api(make_client, smtp):
    return make_client(gvnr_smtp_host="127.0.0.1", gvnr_smtp_port=smtp.port, gvnr_smtp_security="none",
                       gvnr_smtp_from="Gvnr <approvals@gvnr.test>")


@pytest.fixture
def owner(make_account):
    return make_account(notification_email=OWNER)


def ask(api, account, **body):
    return api.post(f"{P}/v1/approval/request", headers=account.headers,
                    json={"agent_id": "deploy-bot", "action_summary": "Deploy v2 to production", **body})


def test_request_emails_the_link_and_check_is_pending(api, owner, smtp):
    r = ask(api, owner)
    assert r.status_code == 200, r.text
    body = r.json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", body["approval_id"])
    assert body["approval_url"] == f"http://testserver/gvnr/approve/{body['approval_id']}"
    assert body["notification"] == {"email": "sent"}
    (message,) = smtp.inbox.messages
    assert message["To"] == OWNER and message["Subject"] == "Approval needed: deploy-bot"
    assert body["approval_url"] in message.get_body(("plain",)).get_content()
    check = api.get(f"{P}/v1/approval/check/{body['approval_id']}", headers=owner.headers).json()
    assert check["decision"] == "pending"
    assert check["expires_at"] - check["created_at"] == 600_000  # the default ttl
    assert (check["agent_id"], check["action_summary"]) == ("deploy-bot", "Deploy v2 to production")
    assert "responder" not in check and "decided_at" not in check


def test_public_url_setting_names_the_approval_host(make_client, smtp, make_account):
    api = make_client(public_url="https://gvnr.example.com/", gvnr_smtp_host="")
    account = make_account(notification_email=OWNER)
    body = ask(api, account).json()
    assert body["approval_url"] == f"https://gvnr.example.com/gvnr/approve/{body['approval_id']}"
    assert body["notification"] == {"email": "skipped_no_key"}


def test_the_human_approves_once(api, owner):
    approval = ask(api, owner, ttl_seconds=3600).json()
    page = api.get(f"{P}/approve/{approval['approval_id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Deploy v2 to production" in page.text and "Expires in ~60 min" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    decide = f"{P}/approve/{approval['approval_id']}/decide"
    done = api.post(decide, data={"decision": "approved"})
    assert done.status_code == 200 and "Approved" in done.text
    state = api.get(f"{P}/v1/approval/check/{approval['approval_id']}", headers=owner.headers).json()
    assert state["decision"] == "approved" and re.fullmatch(r"ip:[0-9a-f]{12}", state["responder"])
    assert state["decided_at"] >= state["created_at"]
    second = api.post(decide, data={"decision": "denied"})
    assert second.status_code == 200 and "already approved" in second.text
    assert api.get(f"{P}/v1/approval/check/{approval['approval_id']}",
                   headers=owner.headers).json()["decision"] == "approved"
    assert "<form" not in api.get(f"{P}/approve/{approval['approval_id']}").text


def test_racing_answers_record_exactly_one(api, owner):
    approval_id = ask(api, owner).json()["approval_id"]

    def answer(i: int):
        return api.post(f"{P}/approve/{approval_id}/decide",
                        data={"decision": "approved" if i % 2 else "denied"}).text

    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(answer, range(16)))
    assert sum("your answer was not recorded" not in text for text in pages) == 1
    final = api.get(f"{P}/v1/approval/check/{approval_id}", headers=owner.headers).json()["decision"]
    assert final in ("approved", "denied")


def _expire(approval_id: str, ago_ms: int) -> None:
    row = Approval.get_by_id(approval_id)
    query = Approval.update(expires_at=row.requested_at - ago_ms).where(Approval.id == approval_id)
    with db.write():
        query.execute()


def test_an_expired_request_times_out_and_refuses_answers(api, owner):
    approval_id = ask(api, owner, ttl_seconds=1).json()["approval_id"]
    _expire(approval_id, 1_000)
    assert api.get(f"{P}/v1/approval/check/{approval_id}", headers=owner.headers).json()["decision"] == "timeout"
    page = api.get(f"{P}/approve/{approval_id}")
    assert page.status_code == 200 and "Expired before decision" in page.text and "<form" not in page.text
    late = api.post(f"{P}/approve/{approval_id}/decide", data={"decision": "approved"})
    assert late.status_code == 200 and "expired before anyone answered" in late.text
    assert api.get(f"{P}/v1/approval/check/{approval_id}", headers=owner.headers).json()["decision"] == "timeout"


def test_past_the_grace_period_an_approval_is_gone(api, owner):
    approval_id = ask(api, owner).json()["approval_id"]
    _expire(approval_id, 86_400_000 + 1_000)
    assert api.get(f"{P}/v1/approval/check/{approval_id}", headers=owner.headers).status_code == 404
    assert api.get(f"{P}/approve/{approval_id}").status_code == 404
    assert "Approval not found" in api.post(f"{P}/approve/{approval_id}/decide", data={"decision": "denied"}).text
    ask(api, owner)  # the next request purges it
    assert Approval.get_or_none(Approval.id == approval_id) is None


def test_another_account_cannot_see_an_approval(api, owner, make_account):
    approval_id = ask(api, owner).json()["approval_id"]
    stranger = make_account(notification_email="x@example.com")
    r = api.get(f"{P}/v1/approval/check/{approval_id}", headers=stranger.headers)
    assert r.status_code == 404 and r.json()["error"] == "approval_not_found"
    for bad in ("nope", "a" * 65, "%2e%2e"):
        assert api.get(f"{P}/v1/approval/check/{bad}", headers=owner.headers).status_code == 404
        assert api.get(f"{P}/approve/{bad}").status_code == 404


def test_summary_is_escaped_on_the_page(api, owner):
    approval_id = ask(api, owner, action_summary="<img src=x onerror=alert(1)>").json()["approval_id"]
    text = api.get(f"{P}/approve/{approval_id}").text
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


@pytest.mark.parametrize(("body", "code"), [
    ({"agent_id": ""}, "invalid_agent_id"),
    ({"agent_id": "a" * 129}, "invalid_agent_id"),
    ({"agent_id": None}, "invalid_agent_id"),
    ({"action_summary": ""}, "invalid_action_summary"),
    ({"action_summary": "x" * 281}, "invalid_action_summary"),
    ({"ttl_seconds": 0}, "invalid_ttl_seconds"),
    ({"ttl_seconds": 604_801}, "invalid_ttl_seconds"),
    ({"ttl_seconds": 1.5}, "invalid_ttl_seconds"),
    ({"channels": []}, "invalid_channels"),
    ({"channels": ["pigeon"]}, "invalid_channels"),
    ({"channels": ["email", "sms"]}, "channel_not_implemented"),
    ({"channels": ["telegram"]}, "channel_not_implemented"),
])
def test_validation_codes(api, owner, body, code):
    r = ask(api, owner, **body)
    assert r.status_code == 400 and r.json()["error"] == code, r.text
    if code == "invalid_channels":
        assert r.json()["valid_channels"] == ["email", "telegram", "sms"]
    if code == "channel_not_implemented":
        assert r.json()["valid_channels"] == ["email"]


def test_missing_fields_name_the_first_check(api, owner):
    r = api.post(f"{P}/v1/approval/request", headers=owner.headers, json={"action_summary": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_agent_id"


def test_bounds_are_accepted(api, owner):
    assert ask(api, owner, agent_id="a" * 128, action_summary="x" * 280, ttl_seconds=604_800).status_code == 200
    assert ask(api, owner, ttl_seconds=1, channels=["email", "email"]).status_code == 200


def test_no_notification_email_is_notification_email_unset(api, account):
    r = ask(api, account)
    assert r.status_code == 400 and r.json()["error"] == "notification_email_unset"
    assert "notification-email" in r.json()["hint"]
    assert Approval.select().count() == 0


def test_smtp_failure_is_reported_and_the_approval_still_works(make_client, make_account):
    api = make_client(gvnr_smtp_host="127.0.0.1", gvnr_smtp_port=9, gvnr_smtp_security="none",
                      gvnr_smtp_timeout_seconds=2)
    owner = make_account(notification_email=OWNER)
    body = ask(api, owner).json()
    assert body["notification"]["email"] == "failed" and body["notification"]["error"]
    assert api.get(f"{P}/approve/{body['approval_id']}").status_code == 200


def test_no_mail_transport_is_skipped_no_key_and_the_link_is_logged(make_client, make_account, caplog):
    caplog.set_level("INFO", logger="pentapi.gvnr.approvals")
    api = make_client(gvnr_smtp_host="")
    owner = make_account(notification_email=OWNER)
    body = ask(api, owner).json()
    assert body["notification"] == {"email": "skipped_no_key"}
    assert body["approval_url"] in caplog.text


def test_thirty_requests_per_minute_then_429(make_client, make_account):
    api = make_client(gvnr_smtp_host="")
    owner, other = make_account(notification_email=OWNER), make_account(notification_email=OWNER)

    def one(_):
        return ask(api, owner).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(40)))
    assert statuses.count(200) == 30 and statuses.count(429) == 10
    refused = ask(api, owner)
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited" and body["retryable"] is True and 0 < body["retry_after_ms"] <= 60_000
    assert body["limit"] == "30 request_approval calls per minute"
    assert ask(api, other).status_code == 200  # per account


def test_decide_validates_its_form(api, owner):
    approval_id = ask(api, owner).json()["approval_id"]
    for form in ({}, {"decision": "maybe"}):
        r = api.post(f"{P}/approve/{approval_id}/decide", data=form)
        assert r.status_code == 400 and r.json()["error"] == "invalid_params"
    assert api.get(f"{P}/v1/approval/check/{approval_id}", headers=owner.headers).json()["decision"] == "pending"


def test_approval_routes_need_a_key(api):
    assert api.post(f"{P}/v1/approval/request", json={"agent_id": "a", "action_summary": "b"}).status_code == 401
    assert api.get(f"{P}/v1/approval/check/abc").status_code == 401
