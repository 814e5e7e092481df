"""Lithtrix unit tests: a real redis-server for the Redis cache backend (the private SQLite file
is tests/unit/conftest.py's `database`)."""

from __future__ import annotations

import pytest

from tests.api.lithtrix.standins import RedisServer


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.client.flushall()
    return redis_server.url
