"""Shared fixtures: every test gets its own folder, database and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

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


def _server(start: Any, what: str) -> Iterator[object]:
    """A loopback server for the whole session, or a visible skip saying why there is none."""
    server, reason = start()
    if server is None:
        pytest.skip(f"{what} tests skipped: {reason}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from tests.servers import start_postgres
    yield from _server(start_postgres, "PostgreSQL")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[object]:
    from tests.servers import start_redis
    yield from _server(start_redis, "Redis")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """The same test against SQLite and against a real PostgreSQL server."""
    overrides = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_server").create_database()
    yield from _migrated(Settings.for_folder(tmp_path, **overrides))


@pytest.fixture
def db(settings: Settings) -> Iterator[Settings]:
    """An opened, migrated SQLite database in the test's folder."""
    yield from _migrated(settings)


def _migrated(settings: Settings) -> Iterator[Settings]:
    open_database(settings.database_url)
    migrate()
    try:
        yield settings
    finally:
        close_database()


# Property tests and schemathesis are derandomized in the normal suite (the same cases on
# every run, so CI is stable); the reliability command explores with fresh random cases
# (HYPOTHESIS_PROFILE=explore).
try:
    import os as _os

    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True, database=None)
    _hypothesis_settings.register_profile("explore", derandomize=False, database=None)
    _hypothesis_settings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # hypothesis is a dev dependency
    pass


@pytest.fixture(autouse=True)
def _no_index_folder_between_tests() -> Iterator[None]:
    """The similarity index folder an app or CLI sets for its process is the test's own: the
    next test starts with none, as a fresh process would."""
    from governance.registry.faces import use_matcher
    from governance.registry.fingerprints import use_folder
    use_folder(None)
    yield
    use_folder(None)
    use_matcher(None, None)
