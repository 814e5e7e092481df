"""Unit tests that touch tables get a private SQLite file (no app, no server)."""

from __future__ import annotations

import pytest

from storage import all_models, db


@pytest.fixture
def database(tmp_path):
    db.bind(f"sqlite:///{tmp_path / 'unit.sqlite3'}")
    db.init_schema(all_models())
    with db.database.connection_context():
        yield db.database
