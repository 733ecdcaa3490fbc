"""Policy tests: ``*.tests.yaml`` files that legal writes next to a policy.

A tests file names its policy, gives ``base`` facts, and lists cases. Each case changes
the base facts, first with ``facts`` (dicts merge, anything else is replaced; ``null``
clears), then with ``patch`` (RFC 6902 JSON Patch operations, so that one element of a list
can change without restating the list), and states what it expects::

    policy: studio-default.yaml
    base: {request: {...}, model: {...}, references: [...], performers: [...]}
    cases:
      - name: an expired consent is refused
        facts: {performers: [...]}
        patch: [{op: replace, path: /references/0/licence/grants/2, value: previs}]
        expect:
          decision: deny
          violated:
            - consent-in-period                     # the rule fired, for any subject
            - rule: consent-in-period               # ...for this subject, with this evidence
              subject: "person:Kit Young"
              evidence: [{path: consent.valid_until, found: "2024-12-31"}]

``violated``, ``approvals`` and ``duties`` list rule ids, compared as sets when given. An
item may instead be a mapping naming the rule and what it fired for: where a rule's items
give subjects (``request``, ``person:NAME``, ``asset:SHA256``, as decisions name them), the
rule must have fired for exactly those subjects; each ``evidence`` item
must match one of that finding's comparisons in every key it gives (``path``, ``operator``,
``found``, ``required``, ``result``, ``required_from``, ``item``); a duty's item may give
its ``text``. ``credits`` lists credit lines. Run them with ``slate policy test`` or
pytest; ``run_tests`` also reports, per rule, how many cases made it fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import jsonschema

from ..errors import PolicyError
from . import facts as F
from .compiler import CompiledPolicy, compile_bytes
from .decision import Decision, DutyDue, Finding, thawed
from .document import Policy
from .jsonpatch import OPS, PatchError, apply
from .loader import PolicyFileError, place, read_yaml

_EVIDENCE_KEYS = ("path", "operator", "found", "required", "result", "required_from", "item")
_EXPECTED_FINDING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rule"],
    "properties": {
        "rule": {"type": "string", "minLength": 1},
        "subject": {"type": "string", "minLength": 1},
        "evidence": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {key: {} for key in _EVIDENCE_KEYS},
        }},
    },
}
_EXPECTED_DUTY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rule"],
    "properties": {"rule": {"type": "string", "minLength": 1}, "subject": {"type": "string", "minLength": 1},
                   "text": {"type": ["string", "null"]}},
}
_ID_LIST = {"type": "array", "items": {"type": "string"}}
_FINDING_LIST = {"type": "array", "items": {"oneOf": [{"type": "string"}, _EXPECTED_FINDING]}}
_DUTY_LIST = {"type": "array", "items": {"oneOf": [{"type": "string"}, _EXPECTED_DUTY]}}
_PATCH = {"type": "array", "maxItems": 200, "items": {
    "type": "object",
    "additionalProperties": False,
    "required": ["op", "path"],
    "properties": {"op": {"enum": list(OPS)}, "path": {"type": "string"}, "from": {"type": "string"},
                   "value": {}},
}}
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
                "patch": _PATCH,
                # the generated image's facts: the case is then an output decision
                "output": {"type": "object"},
                # the training run's facts: the case is then a training decision
                "training": {"type": "object"},
                "expect": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["decision"],
                    "properties": {
                        "decision": {"enum": ["allow", "deny", "needs_approval"]},
                        "violated": _FINDING_LIST, "approvals": _FINDING_LIST, "duties": _DUTY_LIST,
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

    @property
    def fired(self) -> list[str]:
        """The rules and duties this case made fire (violated, sent to approval, made due):
        what per-rule coverage counts."""
        d = self.decision
        return sorted(set(d.violated_rules) | set(d.approval_rules) | set(d.duty_rules)) if d else []

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "case": self.name, "passed": self.passed,
                "problems": list(self.problems),
                "decision": self.decision.outcome if self.decision else None, "fired": self.fired}


@dataclass(frozen=True)
class RuleCoverage:
    """How legal's cases exercised one rule or duty of one policy version."""

    policy: str
    rule: str
    #: prohibition, requirement, approval, or duty
    kind: str
    #: cases in which it fired (violated, sent to approval, or made a duty due)
    fired: int
    #: cases in which it was evaluated and did not fire
    not_fired: int

    @property
    def covered(self) -> bool:
        return self.fired > 0

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "rule": self.rule, "kind": self.kind, "fired": self.fired,
                "not_fired": self.not_fired, "covered": self.covered}


@dataclass(frozen=True)
class TestReport:
    """Every case's result, and per rule how often the cases made it fire."""

    __test__ = False  # a value, not something pytest should collect

    cases: tuple[CaseResult, ...]
    coverage: tuple[RuleCoverage, ...]

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed

    @property
    def uncovered(self) -> list[RuleCoverage]:
        return [r for r in self.coverage if not r.covered]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed, "cases": [c.to_dict() for c in self.cases],
                "coverage": [r.to_dict() for r in self.coverage],
                "uncovered": [r.rule for r in self.uncovered]}


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


def check_tests_document(raw: Any, source: str) -> dict[str, Any]:
    """``raw`` (a tests document as YAML read it) if it has the tests file's shape; else every
    problem with its place, as ``PolicyFileError``."""
    errors = sorted(jsonschema.Draft202012Validator(TESTS_SCHEMA).iter_errors(raw),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise PolicyFileError(source, [f"{place(e.absolute_path)}: {e.message}" for e in errors])
    return dict(raw)


def read_tests_file(path: Path, policy_override: Path | None = None) -> PolicyTests:
    """Read and check a tests file, and compile the policy it names (or ``policy_override``)."""
    path = Path(path)
    try:
        raw = check_tests_document(read_yaml(path.read_bytes(), str(path)), str(path))
    except OSError as exc:
        raise PolicyError(f"cannot read policy tests {path}: {exc.strerror}") from None
    policy_path = policy_override or (path.parent / raw["policy"])
    try:
        data = policy_path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path} names policy {raw['policy']}, which cannot be read: {exc.strerror}") from None
    return PolicyTests(path, compile_bytes(data, str(policy_path)), raw.get("base") or {}, raw["cases"])


def case_facts(base: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a case is decided on: the base, merged with its ``facts``, then its ``patch``
    applied (before the facts are completed, so a patch sees what legal wrote)."""
    written = merge(dict(base), case.get("facts") or {})
    if case.get("patch"):
        written = apply(written, case["patch"])
    if not isinstance(written, dict):
        raise PatchError("the patch leaves the facts something other than a mapping")
    return F.complete(written)


def run_case(tests: PolicyTests, case: Mapping[str, Any]) -> CaseResult:
    def failed(problem: str) -> CaseResult:
        return CaseResult(str(tests.path), case["name"], (problem,))
    try:
        facts = case_facts(tests.base, case)
    except PatchError as exc:
        return failed(f"patch: {exc.message}")
    except (TypeError, AttributeError, KeyError, ValueError):
        # a patch or a merge that leaves, say, the request a list: the case fails, saying so
        return failed("the facts do not have the shape a request's facts have (see governance/policy/facts.py)")
    output = case.get("output")
    if output is not None and not isinstance(output, Mapping):
        return failed("output: the generated image's facts are a mapping (see governance/policy/facts.py)")
    unknown = sorted(set(output or ()) - set(F.FIELDS["output"]))
    if unknown:  # a misspelt fact would otherwise leave the default in place and pass unseen
        return failed(f"output: {', '.join(unknown)} is not a fact of the generated image "
                      f"(one of: {', '.join(F.FIELDS['output'])})")
    training = case.get("training")
    if training is not None and not isinstance(training, Mapping):
        return failed("training: the training run's facts are a mapping (see governance/policy/facts.py)")
    unknown = sorted(set(training or ()) - set(F.FIELDS["training"]))
    if unknown:
        return failed(f"training: {', '.join(unknown)} is not a fact of a training run "
                      f"(one of: {', '.join(F.FIELDS['training'])})")
    try:
        if training is not None:  # a case about a training run: a training decision
            facts["trainings"] = [{"subject": "training", "training": {
                **F.TRAINING_DEFAULTS, "production": facts["request"].get("production"), **training}}]
            decision = tests.policy.evaluate_training(facts)
        elif output is None:
            decision = tests.policy.evaluate(facts)
        else:  # a case about the generated image: an output decision, on the request's facts
            facts["outputs"] = [{"subject": "output", "output": {**F.OUTPUT_DEFAULTS, **output}}]
            decision = tests.policy.evaluate_output(facts)
    except PolicyError as exc:
        return failed(f"evaluation failed: {exc.message}")
    return CaseResult(str(tests.path), case["name"], tuple(_mismatches(case["expect"], decision)), decision)


def _mismatches(expect: Mapping[str, Any], decision: Decision) -> list[str]:
    problems = []
    if decision.outcome != expect["decision"]:
        problems.append(f"decision: expected {expect['decision']}, got {decision.outcome}")
    actual: dict[str, Sequence[Finding | DutyDue]] = {
        "violated": decision.violations, "approvals": decision.approvals, "duties": decision.duties}
    for key, got in actual.items():
        if key in expect:
            problems += _findings_mismatches(key, expect[key], got)
    if "credits" in expect and sorted(expect["credits"]) != sorted(decision.credits):
        problems.append(f"credits: expected {sorted(expect['credits'])}, got {sorted(decision.credits)}")
    return problems


def _findings_mismatches(key: str, expected: Sequence[str | Mapping[str, Any]],
                         got: Sequence[Finding | DutyDue]) -> list[str]:
    """Rule ids as sets; then, for items that are mappings, subjects and evidence."""
    expected_ids = {e if isinstance(e, str) else e["rule"] for e in expected}
    got_ids = {g.rule for g in got}
    problems = [_set_difference(key, expected_ids, got_ids)] if expected_ids != got_ids else []
    detailed = [e for e in expected if not isinstance(e, str) and e["rule"] in got_ids]
    for rule in sorted({e["rule"] for e in detailed}):
        items = [e for e in detailed if e["rule"] == rule]
        fired = [g for g in got if g.rule == rule]
        problems += _subject_mismatches(key, rule, items, fired)
        problems += [p for item in items for p in _item_mismatches(key, item, fired)]
    return problems


def _subject_mismatches(key: str, rule: str, items: Sequence[Mapping[str, Any]],
                        fired: Sequence[Finding | DutyDue]) -> list[str]:
    expected = {i["subject"] for i in items if "subject" in i}
    if not expected:
        return []
    got = {f.subject for f in fired}
    if expected == got:
        return []
    return [_set_difference(f"{key} {rule} subjects", expected, got)]


def _item_mismatches(key: str, item: Mapping[str, Any], fired: Sequence[Finding | DutyDue]) -> list[str]:
    """Problems with one mapping item; none when it has no subject among those the rule fired for
    (``_subject_mismatches`` has said so already)."""
    candidates = [f for f in fired if "subject" not in item or f.subject == item["subject"]]
    if not candidates:
        return []
    where = f"{key} {item['rule']}" + (f" for {item['subject']}" if "subject" in item else "")
    problems: list[str] = []
    if "text" in item:
        texts = [f.text for f in candidates if isinstance(f, DutyDue)]
        if item["text"] not in texts:
            problems.append(f"{where}: expected text {item['text']!r}, got {_listed(texts)}")
    for wanted in item.get("evidence") or ():
        findings = [f for f in candidates if isinstance(f, Finding)]
        if not any(_evidence_matches(wanted, f) for f in findings):
            shown = "; ".join(_describe(e) for f in findings for e in f.to_dict()["evidence"]) or "none"
            problems.append(f"{where}: no evidence matches {_describe(wanted)} (evidence was: {shown})")
    return problems


def _evidence_matches(wanted: Mapping[str, Any], finding: Finding) -> bool:
    return any(all(key in e and _same(e[key], value) for key, value in wanted.items())
               for e in finding.to_dict()["evidence"])


def _same(got: Any, wanted: Any) -> bool:
    """Equal as JSON values (YAML writes a list where evidence holds a tuple; true is not 1)."""
    got, wanted = thawed(got), thawed(wanted)
    if isinstance(got, bool) or isinstance(wanted, bool):
        return type(got) is type(wanted) and got == wanted
    return bool(got == wanted)


def _describe(evidence: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {thawed(evidence[k])!r}" for k in _EVIDENCE_KEYS if k in evidence) + "}"


def _listed(values: Iterable[Any]) -> str:
    shown = [repr(v) for v in values]
    return ", ".join(shown) if shown else "nothing"


def _set_difference(key: str, expected: set[str], got: set[str]) -> str:
    parts = []
    if expected - got:
        parts.append(f"missing {', '.join(sorted(expected - got))}")
    if got - expected:
        parts.append(f"unexpected {', '.join(sorted(got - expected))}")
    return f"{key}: {'; '.join(parts)}"


def coverage(policy: Policy, results: Iterable[CaseResult]) -> list[RuleCoverage]:
    """For each rule and duty of ``policy``, in its order: how many of ``results`` (cases run on
    it whose evaluation succeeded) it fired in, and in how many it was evaluated without firing."""
    fired_in = [set(r.fired) for r in results if r.decision is not None]
    ref = f"{policy.uid}@{policy.version}"
    kinds = [(r.id, str(r.type)) for r in policy.rules] + [(d.id, "duty") for d in policy.duties]
    out = []
    for rule, kind in kinds:
        fired = sum(1 for ids in fired_in if rule in ids)
        out.append(RuleCoverage(ref, rule, kind, fired, len(fired_in) - fired))
    return out


def run_tests_file(path: Path, policy_override: Path | None = None) -> list[CaseResult]:
    tests = read_tests_file(path, policy_override)
    return [run_case(tests, case) for case in tests.cases]


@dataclass(frozen=True)
class StoredTests:
    """A tests document kept in the database (``policy_test_case``), named ``db:NAME`` in results."""

    name: str
    document: Mapping[str, Any]


def run_tests(paths: Iterable[Path], policy_override: Path | None = None,
              uid: str | None = None, stored: Sequence[StoredTests] = ()) -> TestReport:
    """Run every case of the tests files ``paths`` (only those whose policy is ``uid``, when
    given) and of the ``stored`` documents (run on ``policy_override``), and report each
    rule's coverage, per policy version the files name."""
    cases: list[CaseResult] = []
    rules: list[RuleCoverage] = []
    by_policy: dict[str, tuple[Policy, list[CaseResult]]] = {}
    suites = [read_tests_file(path, policy_override) for path in paths]
    if stored and policy_override is not None:
        engine = compile_bytes(policy_override.read_bytes(), str(policy_override))
        suites += [PolicyTests(Path(f"db:{t.name}"), engine, dict(t.document.get("base") or {}),
                               list(t.document["cases"])) for t in stored]
    for tests in suites:
        policy = tests.policy.policy
        if uid is not None and policy.uid != uid:
            continue
        results = [run_case(tests, case) for case in tests.cases]
        cases += results
        by_policy.setdefault(policy.sha256, (policy, []))[1].extend(results)
    for policy, results in by_policy.values():
        rules += coverage(policy, results)
    return TestReport(tuple(cases), tuple(rules))


def find_tests_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.tests.yaml"))


def run_tests_for_version(uid: str, text: str, folder: Path, stored: Sequence[StoredTests] = ()) -> TestReport:
    """Legal's tests for ``uid`` (``*.tests.yaml`` in ``folder``, and the ``stored`` documents
    the database keeps for it) run against a stored version's text."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        override = Path(tmp) / "policy.yaml"
        override.write_text(text, encoding="utf-8")
        return run_tests(find_tests_files(folder), override, uid, stored)
