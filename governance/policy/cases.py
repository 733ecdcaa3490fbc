"""Legal's policy test cases kept in the database: added and edited on the pages (and the API),
run with the ``*.tests.yaml`` files on every version of their policy.

A stored entry is a tests document (``testing.TESTS_SCHEMA``: ``base`` facts and ``cases``)
under a name, for one policy uid; its ``policy`` key may be left out (the uid says it). It is
checked when saved, so a document that is not valid YAML, or not of the tests file's shape, is
never stored; whether its cases pass is what running them says. Changes are audited.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import as_utc, utcnow
from ..db import first, transaction
from ..errors import Conflict, InvalidInput, NotFound
from .compiler import compile_bytes
from .diff import diff_policies
from .loader import PolicyFileError, read_yaml
from .tables import PolicyTestCase, PolicyVersion
from .testing import StoredTests, TestReport, check_tests_document, find_tests_files, run_tests_for_version
from .versions import legal_user

#: a name legal can read in a results list and a URL-free field (no slashes: results name ``db:NAME``)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._,'()-]{0,119}$")
#: the largest document kept (a tests file with a few dozen cases is a few kilobytes)
MAX_BODY = 100_000


@dataclass(frozen=True)
class TestCaseView:
    """A stored tests document, as the pages and the API show it."""

    __test__ = False  # a value, not something pytest should collect

    id: int
    uid: str
    name: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    updated_by: str

    @classmethod
    def from_row(cls, row: PolicyTestCase) -> TestCaseView:
        return cls(row.id, row.uid, row.name, row.body, row.author, as_utc(row.created_at),
                   as_utc(row.updated_at), row.updated_by)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "uid": self.uid, "name": self.name, "body": self.body, "author": self.author,
                "created_at": self.created_at, "updated_at": self.updated_at, "updated_by": self.updated_by}


def checked(uid: str, name: str, body: str) -> tuple[str, str, dict[str, Any]]:
    """The name and body as they will be stored, and the document they hold; ``InvalidInput``
    naming the field (and each problem's place in the document) otherwise."""
    name = (name or "").strip()
    if not NAME.match(name):
        raise InvalidInput("name the test case: letters, digits, spaces and . _ - , ' ( ), at most 120",
                           fields={"name": ["letters, digits, spaces and . _ - , ' ( ), at most 120"]})
    body = (body or "").replace("\r\n", "\n")
    if not body.strip():
        raise InvalidInput("write the test case (YAML: base facts and cases)", fields={"body": ["required"]})
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the test case is longer than {MAX_BODY} characters",
                           fields={"body": [f"at most {MAX_BODY} characters"]})
    try:
        raw = read_yaml(body, f"test case {name}")
        if isinstance(raw, dict):
            raw.setdefault("policy", uid)
        document = check_tests_document(raw, f"test case {name}")
    except PolicyFileError as exc:
        raise InvalidInput(f"the test case is not a tests document: {'; '.join(exc.problems[:5])}",
                           fields={"body": list(exc.problems[:20])}) from None
    return name, body, document


def _known_uid(uid: str) -> str:
    if first(PolicyVersion.select(PolicyVersion.id).where(PolicyVersion.uid == uid)) is None:
        raise NotFound(f"no policy '{uid}' is recorded", hint="the policies page lists them")
    return uid


def add_case(uid: str, name: str, body: str, author: str) -> TestCaseView:
    """Keep a new tests document for ``uid``; names are unique per uid."""
    author = legal_user(author, "author")
    name, body, _ = checked(uid, name, body)
    with transaction():
        _known_uid(uid)
        if first(PolicyTestCase.select().where(PolicyTestCase.uid == uid, PolicyTestCase.name == name)):
            raise Conflict(f"{uid} already has a test case named '{name}'", fields={"name": ["already used"]})
        now = utcnow()
        row = PolicyTestCase.create(uid=uid, name=name, body=body, author=author, created_at=now,
                                    updated_at=now, updated_by=author)
        record("policy.test_case_added", f"policy:{uid}", {"case": row.id, "name": name}, actor=author)
    return TestCaseView.from_row(row)


def update_case(case_id: int, name: str, body: str, editor: str) -> TestCaseView:
    """Change a stored tests document (any legal user: the cases are the team's, and audited)."""
    editor = legal_user(editor, "editor")
    with transaction():
        row = get_case(case_id)
        name, body, _ = checked(row.uid, name, body)
        clash = first(PolicyTestCase.select().where(PolicyTestCase.uid == row.uid, PolicyTestCase.name == name,
                                                    PolicyTestCase.id != row.id))
        if clash is not None:
            raise Conflict(f"{row.uid} already has a test case named '{name}'", fields={"name": ["already used"]})
        row.name, row.body, row.updated_at, row.updated_by = name, body, utcnow(), editor
        row.save()
        record("policy.test_case_changed", f"policy:{row.uid}", {"case": row.id, "name": name}, actor=editor)
    return TestCaseView.from_row(row)


def get_case(case_id: int) -> PolicyTestCase:
    row = PolicyTestCase.get_or_none(PolicyTestCase.id == case_id)
    if row is None:
        raise NotFound(f"no policy test case {case_id} is recorded", hint="the policy's test cases page lists them")
    return row


def list_cases(uid: str) -> list[TestCaseView]:
    return [TestCaseView.from_row(r) for r in
            PolicyTestCase.select().where(PolicyTestCase.uid == uid).order_by(PolicyTestCase.name)]


def stored_tests(uid: str) -> list[StoredTests]:
    """The stored documents of ``uid``, as the test runner takes them."""
    return [StoredTests(c.name, checked(uid, c.name, c.body)[2]) for c in list_cases(uid)]


def run_for_version(row: PolicyVersion, folder: Path) -> TestReport:
    """Legal's tests for the version ``row``: the ``*.tests.yaml`` files of ``folder`` and the
    documents the database keeps for its uid: what the API, the pages and the CLI run.

    Running them takes a few hundred milliseconds and the version page shows their coverage
    on every visit, so a report is kept per what it depends on (the version's text, the
    tests files' bytes, the stored documents): a change to any of them runs them again."""
    files = tuple((str(p), sha256_hex(p.read_bytes())) for p in find_tests_files(folder))
    stored = tuple((c.name, c.body) for c in list_cases(row.uid))
    return _report(row.uid, row.text, str(folder), files, stored)


@functools.lru_cache(maxsize=32)
def _report(uid: str, text: str, folder: str, files: tuple[tuple[str, str], ...],
            stored: tuple[tuple[str, str], ...]) -> TestReport:
    del files  # part of the key only: the runner reads the files again
    tests = [StoredTests(name, checked(uid, name, body)[2]) for name, body in stored]
    return run_tests_for_version(uid, text, Path(folder), tests)


@dataclass(frozen=True)
class CoverageLine:
    """One rule or duty of a version: how many test cases made it fire, and whether it changed
    since the version published before."""

    rule: str
    kind: str
    fired: int
    changed: bool

    @property
    def covered(self) -> bool:
        return self.fired > 0

    @property
    def flagged(self) -> bool:
        """Changed, and no test exercises it: legal publishes a change no case has checked."""
        return self.changed and not self.covered

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "kind": self.kind, "fired": self.fired, "covered": self.covered,
                "changed": self.changed, "flagged": self.flagged}


@dataclass(frozen=True)
class VersionCoverage:
    """Per-rule coverage of a version by legal's tests (files and stored), with the changed
    rules compared with ``compared_with`` (the version published before it; None: none was)."""

    policy: str
    compared_with: str | None
    passed: int
    failed: int
    lines: tuple[CoverageLine, ...]

    @property
    def flagged(self) -> list[CoverageLine]:
        return [line for line in self.lines if line.flagged]

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "compared_with": self.compared_with, "passed": self.passed,
                "failed": self.failed, "rules": [line.to_dict() for line in self.lines],
                "flagged": [line.rule for line in self.flagged]}


def previously_published(row: PolicyVersion) -> PolicyVersion | None:
    """The version of the same uid published last before ``row`` was (or, if ``row`` never was,
    the one published now): what its changes are judged against."""
    query = PolicyVersion.select().where(PolicyVersion.uid == row.uid, PolicyVersion.id != row.id,
                                         PolicyVersion.published_at.is_null(False))
    if row.published_at is not None:
        query = query.where(PolicyVersion.published_at <= row.published_at)
    return first(query.order_by(PolicyVersion.published_at.desc(), PolicyVersion.id.desc()))


def version_coverage(row: PolicyVersion, folder: Path) -> VersionCoverage:
    """Run legal's tests on ``row`` and say, per rule, whether any case exercises it, flagging the
    rules changed (or added) since the version published before that no case exercises."""
    report = run_for_version(row, folder)
    before = previously_published(row)
    ref, before_ref = f"{row.uid}@{row.version}", f"{before.uid}@{before.version}" if before else None
    changed = _changed_rules(before.text, row.text) if before is not None else frozenset()
    lines = tuple(CoverageLine(r.rule, r.kind, r.fired, r.rule in changed) for r in report.coverage)
    return VersionCoverage(ref, before_ref, report.passed, report.failed, lines)


@functools.lru_cache(maxsize=32)
def _changed_rules(before_text: str, text: str) -> frozenset[str]:
    """The rules and duties added or changed from one text to the other."""
    old = compile_bytes(before_text.encode("utf-8"), "the version published before").policy
    new = compile_bytes(text.encode("utf-8"), "this version").policy
    return frozenset(r.id for r in diff_policies(old, new).rules
                     if r.change in ("added", "changed") and r.kind in ("rule", "duty"))
