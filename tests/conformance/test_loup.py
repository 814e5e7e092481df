"""Conformance of Loup against its spec, all checks on, with real credentials.

A small marketplace is provisioned before Schemathesis starts, and each security scheme gets
a valid credential through Schemathesis' own auth configuration (creator key for BearerAuth,
install token for InstallTokenAuth), so authenticated operations are really exercised and
the negative auth cases (`ignored_auth`, missing Authorization) stay negative.
"""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.checks import positive_data_acceptance

from handlers.loup import provisioning as prov
from server.settings import Settings
from storage import all_models, db
from tests.conformance.harness import lazy_schema, load_schema

pytestmark = pytest.mark.conformance

# positive_data_acceptance expects every schema-valid request to succeed. Two inputs are
# schema-valid yet meaningless, and the honest answer is the documented 400:
# - listInstalls: `cursor` is an opaque string, but only cursors this API issued can be resumed;
# - listUsage: `from` later than `to` is an inverted window (both are valid date-times).
# Every other check still runs on those operations.
STRICT_INPUTS = {"listInstalls", "listUsage"}
# Limits high enough that Schemathesis never meets a 429 (tests/api/loup covers those).
LIMITS = {
    "loup_rate_limit_key": 1_000_000,
    "loup_rate_limit_token": 1_000_000,
    "loup_rate_limit_search": 1_000_000,
}


def _provision(settings: Settings) -> dict[str, str]:
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    creator = prov.create_creator("selr-ai", "Selr AI")
    _, key = prov.mint_key(creator.id, ["read:installs", "read:usage"])
    pack = prov.create_pack(
        creator.id,
        "voice-graded-writer",
        "Voice-Graded Content Writer",
        "Writes posts in your voice.",
        hosted_runtime=True,
    )
    source = settings.data_dir / "source"
    source.mkdir(parents=True)
    (source / "SKILL.md").write_text("# Writer\n")
    prov.publish_version(settings, pack.id, "1.0.0", source, changelog="First release")
    for _ in range(3):
        prov.create_install(pack.id)
    install = prov.create_install(pack.id, channel="slack")
    _, token = prov.mint_install_token(install.id)
    return {"BearerAuth": key, "InstallTokenAuth": token}


@pytest.fixture(scope="module")
def loup_schema(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("loup")
    credentials = _provision(Settings().replace(data_dir=data_dir, database_url=""))
    auth = {"openapi": {scheme: {"bearer": secret} for scheme, secret in credentials.items()}}
    return load_schema("loup", data_dir, config={"auth": auth}, **LIMITS)


schema = lazy_schema("loup", "loup_schema")


@schema.parametrize()
def test_loup(case):
    strict = case.operation.definition.raw.get("operationId") in STRICT_INPUTS
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if strict else [])
