"""Conformance of loopat against its spec at /loopat/api/v1 (and /loopat/api/auth), all checks
on, with real credentials.

A user with an API token (BearerAuth) and a web session (CookieAuth) is provisioned before
Schemathesis starts; per-loop operations get real loop ids (DELETE its own loop, so archiving
cannot turn the others' valid requests into 400 `loop_archived`). Streams end on their own:
the local agent answers at once, choices time out after a second, and the read-only watch
stream (which never ends on a turn's end) is closed after a second by
LOOPAT_WATCH_MAX_SECONDS. Schemathesis validates streamed responses by content type.
"""

from __future__ import annotations

import pytest
from schemathesis.specs.openapi.checks import positive_data_acceptance

from handlers.loopat import accounts, records
from server.settings import Settings, activate
from storage import all_models, db
from storage.loopat import Loop, Turn
from tests.conformance.harness import lazy_schema, load_schema

pytestmark = pytest.mark.conformance

# positive_data_acceptance expects every schema-valid request to succeed. One input is
# schema-valid yet refused with the documented 400: metadata whose JSON is over 16 KB
# (upstream's `metadata_too_large`; the spec states the limit only in prose). Every other
# check still runs on that operation.
STRICT_INPUTS = {"postLoops"}
SETTINGS = {
    "loopat_local_delta_ms": 0,
    "loopat_ping_seconds": 0.2,
    "loopat_poll_ms": 10,
    "loopat_permission_timeout_seconds": 1,
    "loopat_question_timeout_seconds": 1,
    "loopat_watch_max_seconds": 1,
    "loopat_argon2_time_cost": 1,
    "loopat_argon2_memory_kib": 1024,
    "loopat_argon2_parallelism": 1,
}
PROVISIONED: dict[str, str] = {}
PER_LOOP = ("getLoopsById", "postLoopsByIdMessages", "getLoopsByIdEvents", "postLoopsByIdChoicesByChoiceId",
            "postLoopsByIdInterrupt")


def _provision(settings: Settings) -> dict[str, str]:
    activate(settings)
    db.bind(settings.resolved_database_url)
    db.init_schema(all_models())
    with db.database.connection_context():
        accounts.create_user("alice", "alice-password")
        _, token = accounts.create_token("alice", "conformance")
        _, cookie = accounts.create_session("alice", days=1)
        loops = {"main": records.create_loop("alice", {"title": "conformance"}).id,
                 "doomed": records.create_loop("alice", {"title": "to archive"}).id}
    return {"token": token, "cookie": cookie, **loops}


@pytest.fixture(scope="module")
def loopat_schema(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("loopat")
    made = _provision(Settings().replace(data_dir=data_dir, database_url="", **SETTINGS))
    PROVISIONED.update(made)
    auth = {"openapi": {"BearerAuth": {"bearer": made["token"]}, "CookieAuth": {"api_key": made["cookie"]}}}
    operations = [{"include-operation-id": op, "parameters": {"path.id": made["main"]}} for op in PER_LOOP]
    operations.append({"include-operation-id": "deleteLoopsById", "parameters": {"path.id": made["doomed"]}})
    operations.append({"include-operation-id": "getLoopsByIdEvents", "max-stream-events": 5})
    config = {"auth": auth, "operations": operations}
    return load_schema("loopat", data_dir, config=config, **SETTINGS)


schema = lazy_schema("loopat", "loopat_schema")


@schema.parametrize()
def test_loopat(case):
    strict = case.operation.definition.raw.get("operationId") in STRICT_INPUTS
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if strict else [])


def test_the_real_loops_were_exercised(loopat_schema):
    """Runs after test_loopat: Schemathesis really drove turns on the provisioned loop and
    archived the other one (the per-operation path overrides took effect)."""
    with db.database.connection_context():
        main = Loop.get(Loop.id == PROVISIONED["main"])
        assert main.turn_count > 0 and not main.archived
        assert Turn.select().where(Turn.loop == main.id, Turn.state == "done").count() > 0
        assert Loop.get(Loop.id == PROVISIONED["doomed"]).archived
