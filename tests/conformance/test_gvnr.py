"""Conformance of Gvnr against its spec, all checks on, with a real account key.

An account with a large quota and a few envelopes is provisioned before Schemathesis starts;
both security schemes (the Bearer header and the `api_key` query parameter) get its key
through Schemathesis' own auth configuration, so authenticated operations are exercised and
the negative auth cases stay negative. Part B's operations still scaffolded are left out by
the harness (the pending list).
"""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.checks import positive_data_acceptance

from handlers.gvnr import pricing, provisioning, rates, spend
from server.settings import Settings
from storage import all_models, db, writer
from tests.conformance.harness import lazy_schema, load_schema

pytestmark = pytest.mark.conformance

# positive_data_acceptance expects every schema-valid request to succeed (2xx, 401/403/404,
# 409, 429). Two operations answer a documented 400 to some schema-valid input:
# - postBudgetReconcile: an agent without an envelope or without a pending clearance gets
#   400 no_envelope / no_pending_clearance (the spec's default response names both; the
#   service answers 400);
# - postMcp: the spec leaves the body opaque, and a body that is not one JSON-RPC 2.0 message
#   gets the 400 the MCP Streamable HTTP transport requires.
# Every other check still runs on those operations.
STRICT_INPUTS = {"postBudgetReconcile", "postMcp"}
SETTINGS = {"gvnr_account_limit_per_ip": 1_000_000}


def _provision(settings: Settings) -> str:
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    account, key = provisioning.create_account(ops=10**9, notification_email="ops@example.com")
    for agent in ("writer", "0", ""):
        if agent:
            writer.call(spend.set_envelope, account.id, agent, pricing.to_nano(100), "daily")
            writer.call(rates.set_envelope, account.id, agent, "openai", "gpt-4o", 1_000_000)
    return key


@pytest.fixture(scope="module")
def gvnr_schema(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("gvnr")
    key = _provision(Settings().replace(data_dir=data_dir, database_url=""))
    auth = {"openapi": {"bearerAuth": {"bearer": key}, "apiKeyQuery": {"api_key": key}}}
    return load_schema("gvnr", data_dir, max_examples=40, config={"auth": auth}, **SETTINGS)


schema = lazy_schema("gvnr", "gvnr_schema")


@schema.parametrize()
def test_gvnr(case):
    strict = case.operation.definition.raw.get("operationId") in STRICT_INPUTS
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if strict else [])
