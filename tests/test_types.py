"""The checks that read the code without running it (the import contract, mypy and ruff) run
in the test command before the tests, each failing it; mypy is strict where the configuration
says, and ruff fails on a finding.

The probes check a small module in a temporary folder with the project's own configuration,
so the tree under test is never touched.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYPROJECT = REPO / "pyproject.toml"

#: each check, as scripts/test runs it
CHECKS = {
    "the import contract": ".venv/bin/lint-imports",
    "the types": ".venv/bin/mypy",
    "the lint": ".venv/bin/ruff check",
}
#: what `strict = true` turns on, flag by flag (mypy --help, under --strict)
STRICT_FLAGS = {
    "disallow_any_generics", "disallow_subclassing_any", "disallow_untyped_calls", "disallow_untyped_defs",
    "disallow_incomplete_defs", "check_untyped_defs", "disallow_untyped_decorators", "warn_redundant_casts",
    "warn_unused_ignores", "warn_return_any", "no_implicit_reexport", "strict_equality", "extra_checks",
}
STRICT_PACKAGES = ["governance.lifecycle.*", "governance.policy.*", "governance.credentials.*",
                   "governance.registry.*", "governance.catalogue.*", "governance.safeyaml"]


def _commands() -> list[str]:
    """scripts/test's commands, without comments or blank lines."""
    return [line.strip() for line in (REPO / "scripts" / "test").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("check", list(CHECKS))
def test_the_test_command_runs_the_check_before_the_tests_and_fails_with_it(check: str) -> None:
    lines = _commands()
    assert "set -euo pipefail" in lines  # a failing check ends the run
    runs = [i for i, line in enumerate(lines) if line.startswith(CHECKS[check])]
    assert runs, f"scripts/test does not run {check} ({CHECKS[check]})"
    tests = next(i for i, line in enumerate(lines) if "pytest" in line)
    assert runs[0] < tests
    # nothing may swallow its exit status
    assert not any(word in lines[runs[0]] for word in ("||", "&", "--exit-zero", "; true")), lines[runs[0]]


def test_mypy_is_strict_on_the_packages_a_request_passes_through() -> None:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["mypy"]
    override = next(o for o in config["overrides"] if o["module"] == STRICT_PACKAGES)
    on = {flag for flag in STRICT_FLAGS if config.get(flag) or override.get(flag)}
    assert on == STRICT_FLAGS
    assert sorted(config["files"]) == ["generator", "governance"]


def _probe(root: Path, package: str, text: str) -> Path:
    """``text`` as a module of ``package`` (e.g. governance.policy) under ``root``."""
    folder = root.joinpath(*package.split("."))
    folder.mkdir(parents=True, exist_ok=True)
    part = root
    for name in package.split("."):
        part = part / name
        (part / "__init__.py").touch()
    module = folder / "probe.py"
    module.write_text(text)
    return module


def _mypy(root: Path, module: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "mypy"), "--config-file", str(PYPROJECT), "--cache-dir", str(root / ".cache"),
                           str(module.relative_to(root))],
                          cwd=root, capture_output=True, text=True, timeout=300, check=False)


#: calls PyYAML's Parser.peek_event, which its stubs leave unannotated
UNTYPED_CALL = '''import yaml.parser


def probe(parser: yaml.parser.Parser) -> None:
    parser.peek_event()
'''


def test_mypy_refuses_an_untyped_call_in_a_strict_package_only(tmp_path: Path) -> None:
    strict = _mypy(tmp_path, _probe(tmp_path, "governance.policy", UNTYPED_CALL))
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "[no-untyped-call]" in strict.stdout
    relaxed = _mypy(tmp_path, _probe(tmp_path, "governance.ledger", UNTYPED_CALL))
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr


def test_mypy_refuses_an_unannotated_function_anywhere(tmp_path: Path) -> None:
    result = _mypy(tmp_path, _probe(tmp_path, "generator", "def probe(x):\n    return x\n"))
    assert result.returncode == 1
    assert "[no-untyped-def]" in result.stdout


def test_ruff_fails_on_a_finding(tmp_path: Path) -> None:
    module = _probe(tmp_path, "governance", 'import os\n\nLABELS = ["a" "b"]\n')
    result = subprocess.run([str(BIN / "ruff"), "check", "--config", str(PYPROJECT), "--no-cache", "--output-format",
                             "concise", str(module)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "F401" in result.stdout and "ISC004" in result.stdout  # unused import; a missing comma
