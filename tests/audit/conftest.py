"""A Slate home in the test's folder with a few logged changes, and its command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from governance.cli import cli
from governance.registry import people


class Slate:
    """``slate ...`` run in-process against the test's SLATE_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        result = self._runner.invoke(cli, list(args), env={"SLATE_HOME": str(self.home)})
        assert "Traceback" not in result.output, result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        return json.loads(result.output)

    @property
    def anchors_file(self) -> Path:
        return self.home / "keys" / "trust-anchors.pem"


@pytest.fixture
def slate(db, tmp_path: Path) -> Slate:
    return Slate(tmp_path)


@pytest.fixture
def log_changes(db) -> Callable[[int], None]:
    """Make ``n`` real state changes (each logs one entry)."""
    made = {"count": 0}

    def change(n: int) -> None:
        for _ in range(n):
            made["count"] += 1
            people.add_person(f"Performer {made['count']}")
    return change
