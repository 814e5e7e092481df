"""Conformance of what the foundation implements (the health operations), all checks on.

Each API's own tests/conformance/test_<api>.py covers its operations as they land; scaffolded
(pending) operations are left out by tests/conformance/harness.py.
"""

from __future__ import annotations

import pytest

from tests.conformance.harness import lazy_schema, load_schema

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def lithtrix_health(tmp_path_factory):
    return load_schema("lithtrix", tmp_path_factory.mktemp("lithtrix")).include(path="/health")


@pytest.fixture(scope="module")
def loopkit_health(tmp_path_factory):
    return load_schema("loopkit", tmp_path_factory.mktemp("loopkit")).include(path="/health")


# The fixture's include() does not carry over to the lazy schema, so it is applied here too
# (once an API has no pending operations left, nothing else would narrow the run to /health).
lithtrix = lazy_schema("lithtrix", "lithtrix_health").include(path="/health")
loopkit = lazy_schema("loopkit", "loopkit_health").include(path="/health")


@lithtrix.parametrize()
def test_lithtrix_health(case):
    case.call_and_validate()


@loopkit.parametrize()
def test_loopkit_health(case):
    case.call_and_validate()
