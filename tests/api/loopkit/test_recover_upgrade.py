"""POST /v1/recover (rotate with the HMAC recovery code) and POST /v1/signup/upgrade."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from handlers.loopkit import codes
from server.settings import current
from storage.loopkit import Key
from tests.api.loopkit.conftest import HIGH_LIMITS, P


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_recover_rotates_both_keys_and_revokes_the_old(lk, project):
    r = lk.post(f"{P}/v1/recover", json={"project_id": project.project_id, "recovery_code": project.recovery_code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["project_id"] == project.project_id and body["revoked_keys"] == 2
    assert body["producer_key"].startswith("lk_ingest_") and body["agent_key"].startswith("lk_agent_")
    assert body["dashboard_url"].endswith("/loopkit/v1/dashboard")
    for old in (project.producer, project.agent):
        refused = lk.get(f"{P}/v1/telemetry", headers=old)
        assert refused.status_code == 401 and refused.json()["code"] in ("key_revoked", "wrong_key_kind")
    assert lk.get(f"{P}/v1/telemetry", headers=project.agent).json()["code"] == "key_revoked"
    assert lk.get(f"{P}/v1/telemetry", headers=bearer(body["agent_key"])).status_code == 200
    empty = {"resourceSpans": []}
    assert lk.post(f"{P}/v1/traces", json=empty, headers=bearer(body["producer_key"])).status_code == 202
    # the old key cannot resume either; the new one can, and the recovery code did not change
    name = {"project_name": "checkout-agent"}
    assert lk.post(f"{P}/v1/provision", json=name, headers=project.agent).status_code == 401
    resumed = lk.post(f"{P}/v1/provision", json={"project_name": "checkout-agent"}, headers=bearer(body["agent_key"]))
    assert resumed.status_code == 200 and resumed.json()["recovery_code"] == project.recovery_code
    again = lk.post(f"{P}/v1/recover", json={"project_id": project.project_id, "recovery_code": project.recovery_code})
    assert again.status_code == 200 and again.json()["revoked_keys"] == 2
    assert Key.select().where(Key.project == project.project_id, Key.revoked_at.is_null()).count() == 2


def test_recover_refusals(lk, project):
    wrong = "0" * 64 if project.recovery_code != "0" * 64 else "1" * 64
    r = lk.post(f"{P}/v1/recover", json={"project_id": project.project_id, "recovery_code": wrong})
    assert r.status_code == 403 and r.json()["code"] == "invalid_recovery_code"
    r = lk.post(f"{P}/v1/recover", json={"project_id": "nope-00000000", "recovery_code": project.recovery_code})
    assert r.status_code == 404 and r.json()["code"] == "project_not_found"
    # another project's code does not open this one
    other = lk.post(f"{P}/v1/provision", json={"project_name": "other"}).json()
    r = lk.post(f"{P}/v1/recover", json={"project_id": project.project_id, "recovery_code": other["recovery_code"]})
    assert r.status_code == 403
    r = lk.post(f"{P}/v1/recover", json={"project_id": project.project_id})
    assert r.status_code == 400
    assert lk.get(f"{P}/v1/telemetry", headers=project.agent).status_code == 200  # nothing rotated


def test_recover_without_a_secret_is_503(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_secret="")
    pid = lk.post(f"{P}/v1/provision", json={"project_name": "x"}).json()["project_id"]
    r = lk.post(f"{P}/v1/recover", json={"project_id": pid, "recovery_code": "0" * 64})
    assert r.status_code == 503 and r.json()["code"] == "recovery_unavailable"


def test_a_configured_secret_signs_the_codes(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_secret="operator-secret")
    body = lk.post(f"{P}/v1/provision", json={"project_name": "x"}).json()
    expected = hmac.new(b"operator-secret", f"recover:{body['project_id']}".encode(), hashlib.sha256).hexdigest()
    assert body["recovery_code"] == expected
    r = lk.post(f"{P}/v1/recover", json={"project_id": body["project_id"], "recovery_code": expected.upper()})
    assert r.status_code == 200


def test_recover_is_rate_limited(make_client):
    lk = make_client(loopkit_recover_rate_limit=2)
    statuses = [lk.post(f"{P}/v1/recover", json={"project_id": "x", "recovery_code": "y"}).status_code
                for _ in range(4)]
    assert statuses == [404, 404, 429, 429]


def test_public_url_setting_shapes_the_links(make_client):
    lk = make_client(**HIGH_LIMITS, public_url="https://loop.example/")
    body = lk.post(f"{P}/v1/provision", json={"project_name": "x"}).json()
    assert body["ingest_url"] == "https://loop.example/loopkit/v1/traces"


@pytest.fixture
def sandbox(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_auto_graduate=False)
    return lk, lk.post(f"{P}/v1/provision", json={"project_name": "sandbox"}).json()


def test_upgrade_makes_both_keys_permanent_and_keeps_the_quota(sandbox):
    lk, body = sandbox
    assert body["plan"] == "sandbox" and body["expires_at"]
    code = codes.upgrade_code(codes.server_secret(current()), body["project_id"])
    r = lk.post(f"{P}/v1/signup/upgrade", json={"code": code}, headers=bearer(body["agent_key"]))
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["upgraded"] and summary["plan"] is None and summary["expires_at"] is None
    assert summary["quota_spans"] == body["quota_spans"] == 100_000
    assert sorted(k["kind"] for k in summary["keys"]) == ["agent", "producer"]
    assert all(k["plan"] is None and k["expires_at"] is None for k in summary["keys"])
    text = r.text
    assert body["agent_key"] not in text and body["producer_key"] not in text and "digest" not in text
    # upgrading again changes nothing and still answers the summary
    assert lk.post(f"{P}/v1/signup/upgrade", json={"code": code}, headers=bearer(body["agent_key"])).status_code == 200
    # the fallback key fields are checked when sent
    ok = lk.post(f"{P}/v1/signup/upgrade", json={"code": code, "producer_key": body["producer_key"],
                                                  "agent_key": body["agent_key"]}, headers=bearer(body["agent_key"]))
    assert ok.status_code == 200


def test_upgrade_refusals(sandbox, make_client):
    lk, body = sandbox
    code = codes.upgrade_code(codes.server_secret(current()), body["project_id"])
    recovery = codes.recovery_code(codes.server_secret(current()), body["project_id"])
    wrong = lk.post(f"{P}/v1/signup/upgrade", json={"code": recovery}, headers=bearer(body["agent_key"]))
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_upgrade_code"
    producer = lk.post(f"{P}/v1/signup/upgrade", json={"code": code}, headers=bearer(body["producer_key"]))
    assert producer.status_code == 401 and producer.json()["code"] == "wrong_key_kind"
    assert lk.post(f"{P}/v1/signup/upgrade", json={"code": code}).status_code == 401
    other = lk.post(f"{P}/v1/provision", json={"project_name": "other"}).json()
    mismatch = lk.post(f"{P}/v1/signup/upgrade", json={"code": code, "producer_key": other["producer_key"]},
                       headers=bearer(body["agent_key"]))
    assert mismatch.status_code == 403 and mismatch.json()["code"] == "key_mismatch"
    assert lk.post(f"{P}/v1/signup/upgrade", json={}, headers=bearer(body["agent_key"])).status_code == 400
    # another project's upgrade code does not upgrade this one
    other_code = codes.upgrade_code(codes.server_secret(current()), other["project_id"])
    crossed = lk.post(f"{P}/v1/signup/upgrade", json={"code": other_code}, headers=bearer(body["agent_key"]))
    assert crossed.status_code == 403
    keys = Key.select().where(Key.project == body["project_id"])
    assert all(k.plan == "sandbox" and k.expires_at is not None for k in keys)
    nosecret = make_client(**HIGH_LIMITS, loopkit_secret="")
    refused = nosecret.post(f"{P}/v1/signup/upgrade", json={"code": code}, headers=bearer(body["agent_key"]))
    assert refused.status_code == 403 and refused.json()["code"] == "upgrade_unavailable"


def test_upgrade_refuses_revoked_fallback_keys(sandbox):
    """After a recovery the old keys are revoked: sent as the fallback fields they are refused
    as any revoked bearer key is (401 key_revoked), and nothing is upgraded."""
    lk, old = sandbox
    recovered = lk.post(f"{P}/v1/recover", json={"project_id": old["project_id"],
                                                 "recovery_code": old["recovery_code"]})
    assert recovered.status_code == 200, recovered.text
    fresh = recovered.json()
    code = codes.upgrade_code(codes.server_secret(current()), old["project_id"])
    for fallback in ({"producer_key": old["producer_key"]}, {"agent_key": old["agent_key"]},
                     {"producer_key": fresh["producer_key"], "agent_key": old["agent_key"]}):
        r = lk.post(f"{P}/v1/signup/upgrade", json={"code": code, **fallback}, headers=bearer(fresh["agent_key"]))
        assert r.status_code == 401 and r.json()["code"] == "key_revoked", (fallback, r.text)
        assert set(r.json()) >= {"error", "code"}  # LoopKit's envelope
    live = Key.select().where(Key.project == old["project_id"], Key.revoked_at.is_null())
    assert live.count() == 2 and all(k.plan == "sandbox" and k.expires_at is not None for k in live)
    ok = lk.post(f"{P}/v1/signup/upgrade", json={"code": code, "producer_key": fresh["producer_key"],
                                                  "agent_key": fresh["agent_key"]}, headers=bearer(fresh["agent_key"]))
    assert ok.status_code == 200, ok.text
