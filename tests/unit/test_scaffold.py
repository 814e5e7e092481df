"""Scaffolds: an operation answers 501, a security scheme refuses every credential with 401."""

from __future__ import annotations

import pytest
from connexion.exceptions import OAuthProblem

from server.errors import UNAUTHENTICATED, ApiError, classify
from server.scaffold import is_scaffold, scaffold


def test_operation_scaffold_answers_501():
    @scaffold("getThing")
    def get_thing(**kwargs):
        """never runs"""

    assert is_scaffold(get_thing)
    with pytest.raises(ApiError) as raised:
        get_thing()
    assert raised.value.status_code == 501 and raised.value.code == "not_implemented"


def test_security_scaffold_refuses_with_the_apis_401():
    @scaffold("BearerAuth", security=True)
    def bearer_auth(token=None, required_scopes=None):
        """never runs"""

    assert is_scaffold(bearer_auth)
    with pytest.raises(OAuthProblem) as raised:
        bearer_auth("anything")
    failure = classify(raised.value)
    assert (failure.kind, failure.status) == (UNAUTHENTICATED, 401)
