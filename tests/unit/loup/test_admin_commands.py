"""`pentapi loup ...` in-process: each command prints JSON; refusals exit 1 with a reason."""

from __future__ import annotations

import json

import pytest

from server.cli import main
from storage.loup import ApiKey, Install, InstallToken, Pack, PackVersion


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PENTAPI_DATA_DIR", str(tmp_path / "data"))

    def call(*args: str, ok: bool = True) -> dict | str:
        code = main(["loup", *args])
        out, err = capsys.readouterr()
        assert code == (0 if ok else 1), err
        return json.loads(out) if ok else err

    return call


def test_every_dashboard_action(run, tmp_path):
    creator = run("creator", "create", "selr-ai", "--name", "Selr AI")
    key = run("key", "mint", creator["id"], "--scope", "read:installs", "--scope", "read:usage")
    assert key["key"].startswith("plat_") and key["scopes"] == ["read:installs", "read:usage"]
    assert ApiKey.get_by_id(key["key_id"]).digest != key["key"]
    assert run("key", "revoke", key["key_id"]) == {"key_id": key["key_id"], "revoked": True}
    assert ApiKey.get_by_id(key["key_id"]).revoked_at is not None

    pack = run("pack", "create", creator["id"], "writer", "Writer", "--description", "Writes.")
    assert pack["public"] is True and pack["hosted_runtime"] is False
    assert run("pack", "hosted-runtime", pack["id"], "on")["hosted_runtime"] is True
    assert Pack.get(Pack.id == pack["id"]).hosted_runtime is True
    assert run("pack", "visibility", pack["id"], "private")["public"] is False

    source = tmp_path / "src"
    source.mkdir()
    (source / "SKILL.md").write_text("hi")
    published = run("version", "publish", pack["id"], "1.0.0", str(source), "--changelog", "First")
    assert published["state"] == "approved" and len(published["sha256"]) == 64
    held = run("version", "publish", pack["id"], "1.1.0", str(source), "--hold")
    assert held["state"] == "pending_review"
    assert run("version", "approve", pack["id"], "1.1.0")["state"] == "approved"
    assert PackVersion.get_by_id(held["id"]).state == "approved"

    install = run(
        "install",
        "create",
        pack["id"],
        "--channel",
        "slack",
        "--spend-cap-usd",
        "2.5",
        "--period-end",
        "2026-12-31T00:00:00+00:00",
    )
    assert Install.get_by_id(install["id"]).spend_cap_micro_usd == 2_500_000
    token = run("token", "mint", install["id"])
    assert token["install_command"] == f"npx @louphq/install selr-ai/writer --token {token['token']}"
    assert run("token", "revoke", token["token_id"])["revoked"] is True
    assert InstallToken.get_by_id(token["token_id"]).revoked_at is not None
    assert run("install", "status", install["id"], "canceled")["status"] == "canceled"


def test_refusals_exit_1_with_a_reason(run):
    creator = run("creator", "create", "selr-ai")
    assert "admin" in run("key", "mint", creator["id"], "--scope", "admin", ok=False)
    assert "already taken" in run("creator", "create", "selr-ai", ok=False)
    assert "unknown pack" in run("install", "create", "pck_nope", ok=False)
    assert "unknown pack" in run("version", "publish", "pck_x", "1.0", "/nonexistent", ok=False)


def test_seed_demo_is_idempotent(run):
    first = run("seed-demo")
    assert first["packs"] >= 10 and first["install_token"].startswith("loupit_")
    again = run("seed", "demo")
    assert again == {"creators": [], "packs": 0}
    assert Pack.select().count() == first["packs"]
