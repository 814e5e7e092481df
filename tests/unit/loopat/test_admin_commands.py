"""`pentapi loopat ...` in-process: each command prints JSON; refusals exit 1 with a reason."""

from __future__ import annotations

import io
import json

import pytest

from handlers.loopat import accounts
from server.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PENTAPI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOOPAT_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("LOOPAT_ARGON2_TIME_COST", "1")

    def call(*args: str, ok: bool = True, stdin: str | None = None) -> dict | str:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["loopat", *args])
        out, err = capsys.readouterr()
        assert code == (0 if ok else 1), err
        return json.loads(out) if ok else err

    return call


def test_users(run):
    made = run("user", "create", "alice", "--profile", "research", "--vault", "notes")
    assert made["username"] == "alice" and made["profiles"] == ["research"] and made["vault"] == "notes"
    assert len(made["password"]) >= 16 and "shown once" in made["note"]
    assert accounts.authenticate("alice", made["password"]) is not None
    typed = run("user", "create", "bob", "--password-stdin", stdin="bob's password\n")
    assert "password" not in typed and accounts.authenticate("bob", "bob's password") is not None
    assert "at least 8" in run("user", "create", "carol", "--password-stdin", stdin="short\n", ok=False)
    assert "already exists" in run("user", "create", "alice", ok=False)
    assert [u["username"] for u in run("user", "list")["users"]] == ["alice", "bob"]
    assert run("user", "disable", "bob")["disabled"] is True
    assert accounts.authenticate("bob", "bob's password") is None
    assert run("user", "enable", "bob")["disabled"] is False
    changed = run("user", "password", "alice")
    assert changed["sessions_ended"] and accounts.authenticate("alice", changed["password"]) is not None
    assert "unknown user" in run("user", "password", "nobody", ok=False)


def test_sessions_and_tokens(run):
    run("user", "create", "alice")
    session = run("session", "create", "alice", "--days", "2")
    assert session["header"] == f"Cookie: loopat_session={session['cookie']}"
    assert accounts.resolve_session(session["cookie"]).user == "alice"
    listed = run("session", "list", "alice")["sessions"]
    assert [s["session_id"] for s in listed] == [session["session_id"]] and "cookie" not in listed[0]
    assert run("session", "revoke", session["session_id"]) == {"session_id": session["session_id"], "revoked": True}
    assert accounts.resolve_session(session["cookie"]) is None
    assert "unknown session" in run("session", "revoke", session["session_id"], ok=False)
    run("session", "create", "alice")
    run("session", "create", "alice")
    assert run("session", "revoke-all", "alice") == {"username": "alice", "revoked": 2}

    token = run("token", "create", "alice", "--label", "ci")
    assert token["token"].startswith("la_") and token["label"] == "ci"
    assert accounts.resolve_token(token["token"]).user == "alice"
    assert run("token", "list", "alice")["tokens"][0] == {
        "tokenId": token["tokenId"], "label": "ci", "createdAt": token["createdAt"], "lastUsedAt": None}
    assert "has no token" in run("token", "revoke", "alice", "tok_000000000000", ok=False)
    assert run("token", "revoke", "alice", token["tokenId"])["revoked"] is True
    assert accounts.resolve_token(token["token"]) is None
