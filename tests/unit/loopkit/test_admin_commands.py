"""`pentapi loopkit ...` in-process: each command prints JSON; refusals exit 1 with a reason."""

from __future__ import annotations

import json
import time

import pytest

from handlers.loopkit import codes, ingest, projects
from handlers.loopkit.otlp import Span
from server.cli import main
from server.settings import Settings
from storage.loopkit import Key, Project, Record


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PENTAPI_DATA_DIR", str(tmp_path / "data"))

    def call(*args: str, ok: bool = True) -> dict | str:
        code = main(["loopkit", *args])
        out, err = capsys.readouterr()
        assert code == (0 if ok else 1), err
        return json.loads(out) if ok else err

    return call


def test_every_operator_action(run, tmp_path):
    made = run("project", "create", "shop", "--operator", "alice", "--sandbox")
    pid = made["project_id"]
    assert made["producer_key"].startswith("lk_ingest_") and made["agent_key"].startswith("lk_agent_")
    assert {k["plan"] for k in made["keys"]} == {"sandbox"} and made["operator"] == "alice"
    secret = codes.server_secret(Settings().replace(data_dir=tmp_path / "data"))
    assert made["recovery_code"] == codes.recovery_code(secret, pid)
    assert run("project", "codes", pid)["upgrade_code"] == codes.upgrade_code(secret, pid)
    assert "already claimed" in run("project", "create", "shop", "--operator", "alice", ok=False)
    assert [p["project_id"] for p in run("project", "list")["projects"]] == [pid]
    assert run("project", "quota", pid, "25")["quota_spans"] == 25
    assert run("project", "quota", pid, "unlimited")["quota_spans"] is None
    upgraded = run("project", "upgrade", pid)
    assert {k["plan"] for k in upgraded["keys"]} == {None} and upgraded["graduated_at"]
    rotated = run("project", "rotate", pid)
    assert rotated["revoked_keys"] == 2 and rotated["agent_key"] != made["agent_key"]
    assert Key.select().where(Key.project == pid, Key.revoked_at.is_null()).count() == 2
    shown = run("project", "show", pid)
    assert shown["spans_used"] == 0 and "agent_key" not in json.dumps(shown).replace('"kind": "agent"', "")
    assert "unknown project" in run("project", "show", "nope", ok=False)
    assert Project.get_by_id(pid).name == "shop"


def test_prune_old_records(run, tmp_path):
    made = run("project", "create", "p")
    now_ns = int(time.time() * 1e9)
    old = now_ns - 10 * 86400 * 10**9

    def span(sid: int, start: int) -> Span:
        return Span(trace_id="ab" * 16, span_id=f"{sid:016x}", parent_span_id="", name="x", kind=1, start_ns=start,
                    end_ns=start, status_code=0, status_message="", attributes={}, resource={}, scope={})

    ingest.store(made["project_id"], [span(1, old), span(2, now_ns)])
    assert run("records", "prune", "--older-than-days", "7")["deleted_records"] == 1
    assert [r.span_id for r in Record.select()] == [f"{2:016x}"]


def test_codes_need_a_secret(run, monkeypatch):
    monkeypatch.setenv("LOOPKIT_SIGNUP_UPGRADE_SECRET", "")
    pid = run("project", "create", "p")["project_id"]
    assert "no signup secret" in run("project", "codes", pid, ok=False)
    assert projects.get(pid).graduated_at is None
