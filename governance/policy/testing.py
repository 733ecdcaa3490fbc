"""Policy tests: ``*.tests.yaml`` files that legal writes next to a policy.

A tests file names its policy, gives ``base`` facts, and lists cases. Each case patches
the base facts (dicts merge, anything else is replaced; ``null`` clears) and states what
it expects::

    policy: studio-default.yaml
    base: {request: {...}, model: {...}, references: [...], performers: [...]}
    cases:
      - name: an expired consent is refused
        facts: {performers: [...]}
        expect: {decision: deny, violated: [consent-in-period], duties: [...]}

``violated``, ``approvals`` and ``duties`` list rule ids and are compared as sets when
given; ``credits`` lists credit lines. Run them with ``slate policy test`` or pytest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import jsonschema

from ..errors import PolicyError
from . import facts as F
from .compiler import CompiledPolicy, compile_bytes
from .decision import Decision
from .loader import PolicyFileError, place, read_yaml

_ID_LIST = {"type": "array", "items": {"type": "string"}}
TESTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "patternProperties": {"^x-": {}},  # room for YAML anchors legal reuses across cases
    "required": ["policy", "cases"],
    "properties": {
        "policy": {"type": "string", "minLength": 1},
        "base": {"type": "object"},
        "cases": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "expect"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "facts": {"type": "object"},
                "expect": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["decision"],
                    "properties": {
                        "decision": {"enum": ["allow", "deny", "needs_approval"]},
                        "violated": _ID_LIST, "approvals": _ID_LIST, "duties": _ID_LIST,
                        "credits": _ID_LIST,
                    },
                },
            },
        }},
    },
}


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    problems: tuple[str, ...]
    decision: Decision | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "case": self.name, "passed": self.passed,
                "problems": list(self.problems),
                "decision": self.decision.outcome if self.decision else None}


@dataclass
class PolicyTests:
    path: Path
    policy: CompiledPolicy
    base: dict[str, Any]
    cases: list[dict[str, Any]] = field(default_factory=list)


def merge(base: Any, patch: Any) -> Any:
    """Dicts merge key by key; any other value (lists included) replaces what was there."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base.get(key), value)
        return out
    return patch


def read_tests_file(path: Path, policy_override: Path | None = None) -> PolicyTests:
    """Read and check a tests file, and compile the policy it names (or ``policy_override``)."""
    path = Path(path)
    try:
        raw = read_yaml(path.read_bytes(), str(path))
    except OSError as exc:
        raise PolicyError(f"cannot read policy tests {path}: {exc.strerror}") from None
    errors = sorted(jsonschema.Draft202012Validator(TESTS_SCHEMA).iter_errors(raw),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise PolicyFileError(str(path), [f"{place(e.absolute_path)}: {e.message}" for e in errors])
    policy_path = policy_override or (path.parent / raw["policy"])
    try:
        data = policy_path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path} names policy {raw['policy']}, which cannot be read: {exc.strerror}") from None
    return PolicyTests(path, compile_bytes(data, str(policy_path)), raw.get("base") or {}, raw["cases"])


def run_case(tests: PolicyTests, case: Mapping[str, Any]) -> CaseResult:
    facts = F.complete(merge(tests.base, case.get("facts") or {}))
    try:
        decision = tests.policy.evaluate(facts)
    except PolicyError as exc:
        return CaseResult(str(tests.path), case["name"], (f"evaluation failed: {exc.message}",))
    return CaseResult(str(tests.path), case["name"], tuple(_mismatches(case["expect"], decision)), decision)


def _mismatches(expect: Mapping[str, Any], decision: Decision) -> list[str]:
    problems = []
    if decision.outcome != expect["decision"]:
        problems.append(f"decision: expected {expect['decision']}, got {decision.outcome}")
    actual = {"violated": decision.violated_rules, "approvals": decision.approval_rules,
              "duties": decision.duty_rules}
    for key, got in actual.items():
        if key in expect and sorted(set(expect[key])) != got:
            problems.append(_set_difference(key, set(expect[key]), set(got)))
    if "credits" in expect and sorted(expect["credits"]) != sorted(decision.credits):
        problems.append(f"credits: expected {sorted(expect['credits'])}, got {sorted(decision.credits)}")
    return problems


def _set_difference(key: str, expected: set[str], got: set[str]) -> str:
    parts = []
    if expected - got:
        parts.append(f"missing {', '.join(sorted(expected - got))}")
    if got - expected:
        parts.append(f"unexpected {', '.join(sorted(got - expected))}")
    return f"{key}: {'; '.join(parts)}"


def run_tests_file(path: Path, policy_override: Path | None = None) -> list[CaseResult]:
    tests = read_tests_file(path, policy_override)
    return [run_case(tests, case) for case in tests.cases]


def find_tests_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.tests.yaml"))


def run_tests_for_version(uid: str, text: str, folder: Path) -> list[dict[str, Any]]:
    """Legal's tests for ``uid`` (``*.tests.yaml`` in ``folder``) run against a stored version's text."""
    import tempfile
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        override = Path(tmp) / "policy.yaml"
        override.write_text(text, encoding="utf-8")
        for path in find_tests_files(folder):
            tests = read_tests_file(path, override)
            if tests.policy.policy.uid == uid:
                results += [run_case(tests, case).to_dict() for case in tests.cases]
    return results
