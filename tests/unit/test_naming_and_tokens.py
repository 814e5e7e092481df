from __future__ import annotations

import pytest

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
