"""Unit tests that touch tables get a private SQLite file (no app, no server), and cheap
argon2id parameters."""

from __future__ import annotations

import pytest

from server.settings import Settings, activate
from storage import all_models, db


@pytest.fixture
def unit_settings(tmp_path) -> Settings:
    return activate(Settings().replace(data_dir=tmp_path / "data", database_url="", loopat_argon2_time_cost=1,
                                       loopat_argon2_memory_kib=1024, loopat_argon2_parallelism=1))


@pytest.fixture
def database(unit_settings):
    db.bind(unit_settings.resolved_database_url)
    db.init_schema(all_models())
    with db.database.connection_context():
        yield db.database
