"""Shared fixtures: every test gets its own folder, database and settings."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

from governance.db import close_database, open_database
from governance.migrations import migrate
from governance.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from governance.demo import DemoStudio

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
C2PA_FIXTURES = SHARED / "c2pa-fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.for_folder(tmp_path)


DEMO_POLICY = REPO / "policies" / "studio-default.yaml"


@dataclass(frozen=True)
class Stage:
    """A home a fixture would build on a test's fresh app: ``build(app)`` builds it and returns
    what the fixture returns besides the app (kept for every copy); a deeper stage builds on
    the shallower ones, so a test gets the deepest it asks for."""

    name: str
    depth: int
    build: Callable[[Flask], Any]


def _seed_demo(app: Flask) -> DemoStudio:
    from governance import demo
    return demo.seed(DEMO_POLICY, app.config["SLATE_SETTINGS"])


#: the demo studio, as a studio fixture seeds it into its app's home
DEMO = Stage("demo", 1, _seed_demo)


class Templates:
    """Homes made once per session and copied into each test's own folder before anything
    opens it: the migrated empty database, and homes that fixtures build on an app (the demo
    studio seeded, ``Stage``): database, keys, documents, similarity indexes.

    Migrating and seeding cost most of a typical test's setup (the migrations, the policy's
    analysis, key and certificate generation), and give the same rows every time; a copy is
    the same home, still the test's own, private and writable. A copy holds no path of the
    template's (nothing Slate stores names its folder), and its times are those of the
    session's first build, minutes before: tokens last 30 days and consents a year. Homes
    that are not laid out as ``Settings.for_folder`` lays them out (a PostgreSQL database,
    a database file elsewhere) get no copy: their tests migrate and seed as before."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._migrated: Path | None = None
        self._homes: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[Path, Any]] = {}
        self._copies: dict[Path, tuple[str, Any]] = {}

    def migrated(self, settings: Settings) -> None:
        """Give ``settings``' SQLite file the migrated empty database, unless it has one."""
        target = _sqlite_file(settings)
        if target is None or target.exists():
            return
        if self._migrated is None:
            made = self.root / "migrated" / "slate.db"
            open_database(f"sqlite:///{made}")
            try:
                migrate()
            finally:
                close_database()
            _no_wal(made)
            self._migrated = made
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(self._migrated, target)

    def stage_home(self, settings: Settings, stage: Stage) -> None:
        """Make ``settings.home`` (not opened yet) a copy of ``stage``'s home; a home laid out
        otherwise gets the migrated database at most, and its fixtures build it themselves."""
        shape = _shape(settings)
        if shape is None or (settings.home.exists() and any(settings.home.iterdir())):
            self.migrated(settings)
            return
        if (stage.name, shape) not in self._homes:
            home = self.root / f"{stage.name}-{len(self._homes)}"
            made = _rebased(settings, home)
            from governance.app import create_app
            app = create_app(made, testing=True)  # as the test's app fixture opens its home
            try:
                kept = stage.build(app)
            finally:
                close_database()
            _no_wal(_sqlite_file(made))
            self._homes[(stage.name, shape)] = (home, kept)
        home, kept = self._homes[(stage.name, shape)]
        shutil.copytree(home, settings.home, dirs_exist_ok=True)
        self._copies[settings.home] = (stage.name, kept)

    def copied(self, app: Flask) -> tuple[str, Any] | None:
        """The stage ``app``'s home is a copy of, and what its build returned; None for no copy."""
        settings: Settings = app.config["SLATE_SETTINGS"]
        if _sqlite_file(settings) is None:
            return None
        return self._copies.get(settings.home)

    def seeded(self, app: Flask) -> DemoStudio:
        """The demo studio in ``app``'s home: the copy's (with its own token dict), or seeded now
        where the home is no copy of it."""
        copied = self.copied(app)
        if copied is not None and copied[0] == DEMO.name:
            studio: DemoStudio = copied[1]
            return dataclasses.replace(studio, tokens=dict(studio.tokens))
        return _seed_demo(app)


def _sqlite_file(settings: Settings) -> Path | None:
    """The database file of a home laid out as ``Settings.for_folder`` lays it out; else None."""
    expected = f"sqlite:///{settings.data_dir / 'slate.db'}"
    return settings.data_dir / "slate.db" if settings.database_url == expected else None


def _shape(settings: Settings) -> tuple[tuple[str, Any], ...] | None:
    """``settings`` with its home's paths made relative: equal shapes seed equal homes."""
    if _sqlite_file(settings) is None or settings.data_dir != settings.home / "data" \
            or settings.keys_dir != settings.home / "keys":
        return None
    out = []
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, Path) and value.is_relative_to(settings.home):
            value = ("home", str(value.relative_to(settings.home)))
        elif field.name == "database_url":
            value = ("home", "data/slate.db")
        out.append((field.name, value))
    return tuple(out)


def _rebased(settings: Settings, home: Path) -> Settings:
    changes: dict[str, Any] = {}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if isinstance(value, Path) and value.is_relative_to(settings.home):
            changes[field.name] = home / value.relative_to(settings.home)
    changes["database_url"] = f"sqlite:///{changes['data_dir'] / 'slate.db'}"
    return dataclasses.replace(settings, **changes)


def _no_wal(database_file: Path | None) -> None:
    """A closed SQLite database leaves its write-ahead log folded in: the file alone is all of it
    (beside the writers' lock file, which holds nothing)."""
    assert database_file is not None
    left = [p.name for p in database_file.parent.glob(database_file.name + "-*") if not p.name.endswith("-writer.lock")]
    assert not left, f"the template database left {left} beside it"


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    return Templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def demo_template(templates: Templates) -> Templates:
    """Asked for by each fixture that seeds the demo studio into an app's home, so that the
    app fixture, which opens the home first, copies the seeded template in (``home_for``)."""
    return templates


def home_for(request: pytest.FixtureRequest, settings: Settings) -> None:
    """Lay out a test's home before its app opens it: a copy of the deepest stage its fixtures
    build (the demo studio where one asks for ``demo_template``; any ``Stage`` a fixture named
    ``*_stage`` gives), else the migrated empty database."""
    templates: Templates = request.getfixturevalue("templates")
    stages = [DEMO] if "demo_template" in request.fixturenames else []
    stages += [request.getfixturevalue(name) for name in request.fixturenames if name.endswith("_stage")]
    if stages:
        templates.stage_home(settings, max(stages, key=lambda stage: stage.depth))
    else:
        templates.migrated(settings)


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
    settings = Settings.for_folder(tmp_path, **overrides)
    request.getfixturevalue("templates").migrated(settings)
    yield from _migrated(settings)


@pytest.fixture
def db(settings: Settings, templates: Templates) -> Iterator[Settings]:
    """An opened, migrated SQLite database in the test's folder (a copy of the migrated template)."""
    templates.migrated(settings)
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
