"""POST /v1/provision: mint, resume, the name guard, rate limits; keys hashed at rest."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from handlers.loopkit import codes
from server.settings import current
from storage.loopkit import Key, Project, RateWindow
from tests.api.loopkit.conftest import HIGH_LIMITS, P


def test_mint_returns_the_signup_shape(lk):
    r = lk.post(f"{P}/v1/provision", json={"project_name": "My App!"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert re.fullmatch(r"my-app-[0-9a-f]{8}", body["project_id"])
    assert re.fullmatch(r"lk_ingest_[0-9a-f]{48}", body["producer_key"])
    assert re.fullmatch(r"lk_agent_[0-9a-f]{48}", body["agent_key"])
    assert body["resumed"] is False and body["graduated"] is True  # secret + auto-graduate: permanent keys
    assert body["expires_at"] is None and body["plan"] is None and body["quota_spans"] == 100_000
    assert body["tenant_id"] == "sandbox" and body["project_name"] == "My App!" and body["operator"] is None
    base = "http://testserver/loopkit"  # the request's host plus the mount prefix
    assert (body["ingest_url"], body["diagnose_url"], body["dashboard_url"]) == (
        f"{base}/v1/traces", f"{base}/v1/runs/diagnose", f"{base}/v1/dashboard")
    secret = codes.server_secret(current())
    message = f"recover:{body['project_id']}".encode()
    assert body["recovery_code"] == hmac.new(secret, message, hashlib.sha256).hexdigest()
    assert r.headers["X-RateLimit-Remaining"] == str(HIGH_LIMITS["loopkit_provision_rate_limit"] - 1)


def test_keys_are_stored_only_as_sha256(lk, project):
    digests = {k.digest for k in Key.select().where(Key.project == project.project_id)}
    assert digests == {hashlib.sha256(s.encode()).hexdigest() for s in (project.producer_key, project.agent_key)}
    stored = " ".join(str(v) for row in Key.select().dicts() for v in row.values())
    stored += " ".join(str(v) for row in Project.select().dicts() for v in row.values())
    assert project.producer_key not in stored and project.agent_key not in stored
    assert project.recovery_code not in stored  # reproducible, never stored


@pytest.mark.parametrize("which", ["producer", "agent"])
def test_resume_with_the_projects_own_key_is_non_rotating(lk, project, which):
    headers = project.producer if which == "producer" else project.agent
    r = lk.post(f"{P}/v1/provision", json={"project_name": "checkout-agent"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resumed"] is True and body["project_id"] == project.project_id and body["graduated"] is True
    assert "producer_key" not in body and "agent_key" not in body
    assert body["recovery_code"] == project.recovery_code
    assert Key.select().where(Key.project == project.project_id).count() == 2  # nothing minted, nothing revoked
    assert lk.get(f"{P}/v1/telemetry", headers=project.agent).status_code == 200  # the key still works


def test_resume_without_a_key_or_with_another_projects_key(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_mint_race_seconds=0)
    first = lk.post(f"{P}/v1/provision", json={"project_name": "shop"}).json()
    other = lk.post(f"{P}/v1/provision", json={"project_name": "other"}).json()
    no_key = lk.post(f"{P}/v1/provision", json={"project_name": "shop"})
    assert no_key.status_code == 401 and no_key.json()["code"] == "resume_requires_key"
    foreign = lk.post(f"{P}/v1/provision", json={"project_name": "shop"},
                      headers={"Authorization": f"Bearer {other['agent_key']}"})
    assert foreign.status_code == 403 and foreign.json()["code"] == "forbidden_project"
    bogus = lk.post(f"{P}/v1/provision", json={"project_name": "shop"},
                    headers={"Authorization": "Bearer lk_agent_" + "0" * 48})
    assert bogus.status_code == 401 and bogus.json()["code"] == "invalid_key"
    basic = lk.post(f"{P}/v1/provision", json={"project_name": "shop"}, headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401 and basic.json()["code"] == "invalid_authorization"
    assert Project.select().count() == 2 and first["project_id"] != other["project_id"]


def test_a_just_claimed_name_answers_409(lk):
    assert lk.post(f"{P}/v1/provision", json={"project_name": "race"}).status_code == 201
    again = lk.post(f"{P}/v1/provision", json={"project_name": "race"})
    assert again.status_code == 409 and again.json()["code"] == "name_claimed"


def test_operators_namespace_names(lk):
    a = lk.post(f"{P}/v1/provision", json={"project_name": "bot", "operator": "alice"})
    b = lk.post(f"{P}/v1/provision", json={"project_name": "bot", "operator": "bob"})
    plain = lk.post(f"{P}/v1/provision", json={"project_name": "bot"})
    assert [a.status_code, b.status_code, plain.status_code] == [201, 201, 201]
    assert a.json()["operator"] == "alice" and len({a.json()["project_id"], b.json()["project_id"]}) == 2
    resumed = lk.post(f"{P}/v1/provision", json={"project_name": "bot", "operator": "alice"},
                      headers={"Authorization": f"Bearer {a.json()['agent_key']}"})
    assert resumed.status_code == 200 and resumed.json()["project_id"] == a.json()["project_id"]
    crossed = lk.post(f"{P}/v1/provision", json={"project_name": "bot", "operator": "bob"},
                      headers={"Authorization": f"Bearer {a.json()['agent_key']}"})
    assert crossed.status_code == 403


def test_a_key_of_one_project_can_mint_another_name(lk, project):
    r = lk.post(f"{P}/v1/provision", json={"project_name": "second"}, headers=project.agent)
    assert r.status_code == 201 and r.json()["project_id"] != project.project_id


def test_without_auto_graduation_mint_is_a_sandbox_and_resume_keeps_it(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_auto_graduate=False)
    body = lk.post(f"{P}/v1/provision", json={"project_name": "sb"}).json()
    assert body["graduated"] is False and body["plan"] == "sandbox" and body["expires_at"]
    resumed = lk.post(f"{P}/v1/provision", json={"project_name": "sb"},
                      headers={"Authorization": f"Bearer {body['producer_key']}"}).json()
    assert resumed["graduated"] is False and resumed["plan"] == "sandbox"


def test_resume_graduates_a_sandbox_in_place(make_client, settings):
    sandbox = make_client(**HIGH_LIMITS, loopkit_auto_graduate=False)
    body = sandbox.post(f"{P}/v1/provision", json={"project_name": "grad"}).json()
    graduating = make_client(**HIGH_LIMITS)  # same data dir, auto-graduation back on
    resumed = graduating.post(f"{P}/v1/provision", json={"project_name": "grad"},
                              headers={"Authorization": f"Bearer {body['agent_key']}"})
    assert resumed.status_code == 200
    assert resumed.json()["graduated"] is True and resumed.json()["expires_at"] is None
    keys = Key.select().where(Key.project == body["project_id"])
    assert all(k.plan is None and k.expires_at is None for k in keys) and keys.count() == 2


def test_no_secret_means_no_recovery_code_and_no_graduation(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_secret="")
    body = lk.post(f"{P}/v1/provision", json={"project_name": "nosecret"}).json()
    assert body["recovery_code"] is None and body["graduated"] is False and body["plan"] == "sandbox"


def test_expired_sandbox_keys_are_refused(make_client):
    lk = make_client(**HIGH_LIMITS, loopkit_auto_graduate=False, loopkit_sandbox_ttl_hours=0)
    body = lk.post(f"{P}/v1/provision", json={"project_name": "short"}).json()
    r = lk.get(f"{P}/v1/telemetry", headers={"Authorization": f"Bearer {body['agent_key']}"})
    assert r.status_code == 401 and r.json()["code"] == "key_expired"


@pytest.mark.parametrize("body", [{}, {"project_name": ""}, {"project_name": 5}, {"operator": "x"}])
def test_bad_bodies(lk, body):
    r = lk.post(f"{P}/v1/provision", json=body)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


def test_mint_path_is_rate_limited_per_client_address(make_client):
    lk = make_client(loopkit_provision_rate_limit=3)
    answers = [lk.post(f"{P}/v1/provision", json={"project_name": f"p{i}"}) for i in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    limited = answers[3]
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["retry_after_seconds"] == int(limited.headers["Retry-After"])
    # resuming with a key is not the mint path: never limited
    first = answers[0].json()
    resumed = lk.post(f"{P}/v1/provision", json={"project_name": "p0"},
                      headers={"Authorization": f"Bearer {first['agent_key']}"})
    assert resumed.status_code == 200
    assert Project.select().count() == 3 and RateWindow.select().count() == 1
