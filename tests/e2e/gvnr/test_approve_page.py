"""The approval page in headless Chromium at a phone-sized viewport, against `pentapi serve`
(gunicorn, 2 workers): it renders without JavaScript, escapes the summary, and one tap on
Approve records the decision the agent then sees."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PHONE = {"width": 390, "height": 844}  # iPhone 12-15 CSS pixels


def test_approve_on_a_phone(serve, browser, tmp_path):
    server = serve()
    base = f"{server.url}/gvnr"
    key = httpx.post(f"{base}/v1/account").json()["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.post(f"{base}/v1/account/notification-email", headers=auth,
                      json={"email": "owner@example.com"}).status_code == 200
    summary = "Refund order #18231 ($249.00) to the customer's card <b>now</b>\nReason: damaged in transit"
    created = httpx.post(f"{base}/v1/approval/request", headers=auth, json={
        "agent_id": "support-agent-7", "action_summary": summary, "ttl_seconds": 900}).json()
    assert created["notification"] == {"email": "skipped_no_key"}  # no SMTP configured: link logged

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  java_script_enabled=False)
    page = context.new_page()
    page.goto(created["approval_url"])
    assert page.locator("dd.agent").inner_text() == "support-agent-7"
    assert page.locator("dd.summary").inner_text() == summary  # shown as text, not markup
    assert page.locator("b").count() == 0
    assert "Expires in ~15 min" in page.locator(".expiry").inner_text()
    approve = page.locator("button.approve")
    box = approve.bounding_box()
    assert box["width"] > 300 and box["height"] >= 48  # a thumb-sized target across the screen
    shot = tmp_path / "gvnr-approve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000  # docs/screenshots/gvnr-approve.png is this one, looked at

    approve.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Approved"
    page.screenshot(path=str(tmp_path / "gvnr-approved.png"), full_page=True)
    state = httpx.get(f"{base}/v1/approval/check/{created['approval_id']}", headers=auth).json()
    assert state["decision"] == "approved" and state["responder"].startswith("ip:")

    page.goto(created["approval_url"])
    assert page.locator("h1").inner_text().startswith("Approved ")
    assert page.locator("form").count() == 0
    context.close()
