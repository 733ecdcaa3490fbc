"""Runs legal's policy tests (``*.tests.yaml`` next to each policy) as pytest items."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from governance.errors import SlateError
from governance.policy.testing import read_tests_file, run_case


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(".tests.yaml"):
        return PolicyTestsFile.from_parent(parent, path=file_path)
    return None


class PolicyTestsFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        tests = read_tests_file(self.path)
        for case in tests.cases:
            yield PolicyCase.from_parent(self, name=case["name"], tests=tests, case=case)


class PolicyCaseFailed(Exception):
    pass


class PolicyCase(pytest.Item):
    def __init__(self, *, tests: Any, case: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tests = tests
        self.case = case

    def runtest(self) -> None:
        result = run_case(self.tests, self.case)
        if not result.passed:
            raise PolicyCaseFailed("\n".join(result.problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (PolicyCaseFailed, SlateError)):
            return f"policy case '{self.name}' failed:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"policy case: {self.name}"
