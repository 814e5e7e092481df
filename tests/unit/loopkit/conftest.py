"""LoopKit unit tests: embedded-default settings on a private data dir (the private SQLite file
is tests/unit/conftest.py's `database`)."""

from __future__ import annotations

import pytest

from server.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings().replace(data_dir=tmp_path / "data", database_url="")
