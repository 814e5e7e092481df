"""Lithtrix unit tests: a private SQLite file for modules that touch tables, and a real
redis-server for the Redis cache backend."""

from __future__ import annotations

import pytest

from storage import all_models, db
from tests.api.lithtrix.standins import RedisServer


@pytest.fixture
def database(tmp_path):
    db.bind(f"sqlite:///{tmp_path / 'unit.sqlite3'}")
    db.init_schema(all_models())
    with db.database.connection_context():
        yield db.database


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.client.flushall()
    return redis_server.url
