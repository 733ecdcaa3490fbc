"""The import contract (``[tool.importlinter]`` in pyproject.toml) holds, runs in the test
command, and fails on each kind of import it exists to forbid.

Each breaking case adds one module to a copy of the packages and runs ``lint-imports`` with
the project's own contract against the copy, so the tree under test is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contract, over the packages found first in ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(REPO / "pyproject.toml"), "--no-cache", "--no-logo"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("packages")
    for package in ("governance", "generator"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_contract_holds() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_test_command_runs_the_contract_before_the_tests() -> None:
    lines = [line.strip() for line in (REPO / "scripts" / "test").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    lint = next(i for i, line in enumerate(lines) if "lint-imports" in line)
    pytest_run = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert lint < pytest_run


#: what each case adds (to the end of a module, or as a new one), and what lint-imports says
BREAKS: dict[str, tuple[dict[str, str], str]] = {
    # a lower layer reaching up, inside a function, where a reader would not look
    "a lazy upward import": ({"registry/licences.py": "\ndef _probe():\n    from ..provenance import impact\n"},
                             "governance.registry is not allowed to import governance.provenance"),
    "the domain importing the CLI": ({"policy/versions.py": "\nfrom ..cli import emits  # noqa\n"},
                                     "governance.policy is not allowed to import governance.cli"),
    "a base module importing the domain": ({"clock.py": "\ndef _probe():\n    from .registry import people\n"},
                                           "governance.clock is not allowed to import governance.registry"),
    "a module in no layer": ({"newthing.py": ""}, "governance.newthing"),
    "governance importing the generator": ({"jobs/queue.py": "\ndef _probe():\n    import generator.service\n"},
                                           "governance.jobs.queue -> generator.service"),
    "the domain importing Flask": ({"ledger/records.py": "\nfrom flask import current_app  # noqa\n"},
                                   "governance.ledger.records -> flask"),
    "a circle inside a package": ({"registry/people.py": "\ndef _probe():\n    from . import consents\n"},
                                  "No cycles are allowed in governance.registry"),
}


@pytest.mark.parametrize("case", list(BREAKS))
def test_the_contract_fails_on(case: str, packages: Path) -> None:
    additions, said = BREAKS[case]
    originals = {}
    for path, text in additions.items():
        module = packages / "governance" / path
        originals[module] = module.read_text() if module.exists() else None
        module.write_text((originals[module] or "") + text)
    try:
        result = lint_imports(packages)
    finally:
        for module, original in originals.items():
            if original is None:
                module.unlink()
            else:
                module.write_text(original)
    assert result.returncode != 0, result.stdout
    assert said in result.stdout, result.stdout
