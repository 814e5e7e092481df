from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from server import tokens
from server.naming import function_for, module_for, security_function_for
from server.tokens import digest, matches, mint


@pytest.mark.parametrize(
    ("path", "module"),
    [
        ("/api/v1/runtime/invoke", "runtime"),
        ("/v1/budget/clear", "budget"),
        ("/loops/{id}/messages", "loops"),
        ("/admin/agents/{agent_id}", "admin"),
        ("/v1/account/topup-verify/{pack}", "account"),
        ("/v1/reports/latest.md", "reports"),
        ("/health", "health"),
        ("/", "root"),
    ],
)
def test_module_rule(path, module):
    assert module_for(path) == module


def test_function_and_security_rules():
    assert function_for("invokeRuntimeSkill") == "invoke_runtime_skill"
    assert function_for("read_me_v1_me_get") == "read_me_v1_me_get"
    long_name = "get_rate_envelope_by_agent_id_by_provider_by_model"
    assert function_for("getRateEnvelopeByAgentIdByProviderByModel") == long_name
    assert security_function_for("InstallTokenAuth") == "install_token_auth"
    assert security_function_for("producerKey") == "producer_key"


def test_tokens_are_hashed_and_compared():
    token = mint("bg_", 16)
    assert token.startswith("bg_") and len(token) == 3 + 32
    stored = digest(token)
    assert stored != token and len(stored) == 64
    assert matches(stored, token)
    assert not matches(stored, token + "x")
    assert mint("la_", 24) != mint("la_", 24)


def test_local_secret_is_created_once_private_and_kept(tmp_path):
    path = tmp_path / "api" / "secret"
    first = tokens.local_secret(path)
    assert len(first) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens._local.clear()  # as a fresh process would
    assert tokens.local_secret(path) == first


def _read_secret(path: str, queue) -> None:
    tokens._local.clear()
    queue.put(tokens.local_secret(Path(path)))


def test_processes_racing_to_create_a_local_secret_agree(tmp_path):
    path = tmp_path / "race" / "secret"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_read_secret, args=(str(path), queue)) for _ in range(6)]
    for w in workers:
        w.start()
    found = {queue.get(timeout=30) for _ in workers}
    for w in workers:
        w.join(timeout=30)
    assert len(found) == 1 and path.read_text().strip() in found
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary files left
