"""One working day per role, through the pages only, in a real browser against one real
``slate serve`` (with its embedded worker and the micro model) shared by the package.

Each day module makes its own data and leaves the studio as it found it where another day
could notice (legal's day ends on the policy text it started with, by its rollback), so the
modules run in any order. Screenshots go to ``<tmp>/screenshots/<module>/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import micro_bundle, prepare_home  # noqa: F401  (micro_bundle: a fixture)
from tests.e2e.harness import SlateServer, start_server
from tests.web.browser import Screens, needs_browser


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, micro_bundle: Path) -> Iterator[SlateServer]:  # noqa: F811
    home = tmp_path_factory.mktemp("day-home")
    prepare_home(home, micro_bundle)
    running = start_server(home)
    yield running
    running.stop()


@pytest.fixture
def screens(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Screens:
    folder = tmp_path_factory.getbasetemp() / "screenshots" / request.module.__name__.rsplit(".", 1)[-1]
    return Screens(folder)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "/days/" in str(item.fspath):
            for mark in needs_browser:
                item.add_marker(mark)
