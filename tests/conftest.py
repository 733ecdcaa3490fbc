"""Shared fixtures: every test gets its own folder, database and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from governance.db import close_database, open_database
from governance.migrations import migrate
from governance.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
C2PA_FIXTURES = SHARED / "c2pa-fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.for_folder(tmp_path)


@pytest.fixture
def db(settings: Settings) -> Iterator[Settings]:
    """An opened, migrated SQLite database in the test's folder."""
    open_database(settings.database_url)
    migrate()
    try:
        yield settings
    finally:
        close_database()
