"""Conformance of what the foundation implements (health endpoints), all checks on."""

from __future__ import annotations

import pytest

from tests.conformance.harness import lazy_schema, load_schema

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def lithtrix_schema(tmp_path_factory):
    return load_schema("lithtrix", tmp_path_factory.mktemp("lithtrix"))


schema = lazy_schema("lithtrix", "lithtrix_schema")


@schema.parametrize()
def test_lithtrix(case):
    case.call_and_validate()
