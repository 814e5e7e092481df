"""Conformance of Lithtrix against its spec, all checks on, with real credentials.

Before Schemathesis starts, a pro agent is registered (so neither the free cap nor the rate
limit ever hides an operation behind OVER_LIMIT or 429; tests/api/lithtrix covers those), an
admin key is configured, and billing points at the local Stripe stand-in. Credentials come from
Schemathesis auth providers (its config-file auth cannot be mixed with a provider): the shared
agent's key for BearerAuth and the admin key for AdminKey, except for key rotation, which would
invalidate the shared key, so every rotation gets an agent registered for it. Schemathesis'
negative auth checks (no credential, a wrong one) still strip or replace what the providers set.
"""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.checks import positive_data_acceptance

from handlers.lithtrix import agents
from server.settings import Settings
from storage import all_models, db
from storage.lithtrix import Agent, UsageLog
from tests.api.lithtrix.standins import StripeStandin
from tests.conformance.harness import lazy_schema, load_schema

pytestmark = pytest.mark.conformance

ADMIN_KEY = "conformance-admin-key"
ROTATE = "rotate_api_key_v1_keys_rotate_post"
# positive_data_acceptance expects every schema-valid request to succeed. Two operations accept
# schema-valid input that is meaningless, and the honest answer is their documented 400:
# - billing setup: `payment_method_id` is any non-empty string by schema, but only a PaymentMethod
#   Stripe knows can be attached (400 INVALID_PAYMENT_METHOD);
# - the webhook: the schema declares no body at all, but only a body signed by Stripe is accepted
#   (400 INVALID_SIGNATURE).
# Every other check still runs on those operations.
STRICT_INPUTS = {"post_billing_setup_v1_billing_setup_post", "post_billing_webhook_v1_billing_webhook_post"}
SETTINGS = {
    "lithtrix_admin_api_key": ADMIN_KEY,
    "lithtrix_rate_limit_free": 1_000_000,
    "lithtrix_rate_limit_pro": 1_000_000,
    "lithtrix_stripe_publishable_key": "pk_test_conformance",
    "lithtrix_stripe_webhook_secret": "whsec_conformance",
    "lithtrix_stripe_max_retries": 0,
}


def _pro_agent(settings: Settings, name: str) -> str:
    agent, key = agents.register(settings, name, "conformance@example.com")
    with db.write():
        Agent.update(tier="pro").where(Agent.id == agent.id).execute()
    return key


@pytest.fixture(scope="module")
def stripe_standin():
    standin = StripeStandin().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def lithtrix_schema(tmp_path_factory, stripe_standin):
    data_dir = tmp_path_factory.mktemp("lithtrix")
    changes = {**SETTINGS, "lithtrix_stripe_secret_key": stripe_standin.secret_key,
               "lithtrix_stripe_api_base": stripe_standin.url}
    settings = Settings().replace(data_dir=data_dir, database_url="", **changes)
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    with db.database.connection_context():
        key = _pro_agent(settings, "conformance-agent")
    schema = load_schema("lithtrix", data_dir, **changes)
    registered = iter(range(1_000_000))

    def put(case, name: str, value: str) -> None:  # noqa: ANN001
        case.headers = {**(case.headers or {}), name: value}

    @schema.auth().skip_for(operation_id=ROTATE)
    class Credentials:
        """The shared pro agent's key for BearerAuth, the admin key for AdminKey."""

        def get(self, case, ctx):  # noqa: ANN001, ANN201 - Schemathesis' provider protocol
            return key

        def set(self, case, data, ctx):  # noqa: ANN001, ANN201
            for requirement in case.operation.definition.raw.get("security", []):
                if "AdminKey" in requirement:
                    put(case, "X-Admin-Key", ADMIN_KEY)
                if "BearerAuth" in requirement:
                    put(case, "Authorization", f"Bearer {data}")

    @schema.auth(refresh_interval=None).apply_to(operation_id=ROTATE)
    class FreshAgent:
        """Every rotation rotates the key of an agent registered for it."""

        def get(self, case, ctx):  # noqa: ANN001, ANN201
            with db.database.connection_context():
                return _pro_agent(settings, f"rotating-{next(registered)}")

        def set(self, case, data, ctx):  # noqa: ANN001, ANN201
            put(case, "Authorization", f"Bearer {data}")

    return schema


schema = lazy_schema("lithtrix", "lithtrix_schema")


@schema.parametrize()
def test_lithtrix(case):
    strict = case.operation.definition.raw.get("operationId") in STRICT_INPUTS
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if strict else [])


def test_the_run_exercised_authenticated_operations(lithtrix_schema):
    # Guard against a run where every authenticated request was refused: searches were counted
    # for the shared pro agent, and rotations rotated agents registered for them.
    with db.database.connection_context():
        searches = UsageLog.select().count()
        rotated = Agent.select().where(Agent.agent_name.startswith("rotating-") & Agent.key_rotated_at.is_null(False))
        assert searches > 0 and rotated.count() > 0
