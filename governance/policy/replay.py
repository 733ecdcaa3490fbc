"""Replaying recorded requests under another policy version, before it is published.

Each request's latest decision kept the exact facts it was made on; replay evaluates those
same facts under the candidate version and reports which decisions would flip (allow,
deny, needs_approval) and whose reasons would change (violated rules, approval routes or
duties, per subject), so that legal sees the effect of a change on real traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from peewee import fn

from .clearance import each_member, judges_each_member
from .compiler import CompiledPolicy
from .decision import Decision
from .stored_facts import decision_facts
from .tables import DecisionRecord, GenerationRequest, PolicyVersion


def _reasons(findings: Iterable[dict[str, Any]]) -> set[str]:
    return {f"{f['rule']}@{f['subject']}" for f in findings}


@dataclass(frozen=True)
class RecordedOutput:
    """An output decision as recorded (``lifecycle.output_review``): the facts it was judged
    on (the request's roots plus ``outputs``) and what it found, for replay."""

    review: str
    request: int
    policy: str
    outcome: str
    violations: tuple[dict[str, Any], ...]
    approvals: tuple[dict[str, Any], ...]
    facts: dict[str, Any]


@dataclass(frozen=True)
class ReplayEntry:
    request: int
    old_policy: str
    old: str
    new: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    #: the output review replayed (None: the request's own decision)
    review: str | None = None

    @property
    def flipped(self) -> bool:
        return self.old != self.new

    @property
    def reasons_changed(self) -> bool:
        return bool(self.added or self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "old_policy": self.old_policy, "old": self.old, "new": self.new,
                "flipped": self.flipped, "reasons_added": list(self.added),
                "reasons_removed": list(self.removed), "review": self.review}


@dataclass(frozen=True)
class ReplayReport:
    policy: dict[str, Any]
    replayed: int
    entries: tuple[ReplayEntry, ...]

    @property
    def flips(self) -> list[ReplayEntry]:
        return [e for e in self.entries if e.flipped]

    @property
    def changed_reasons(self) -> list[ReplayEntry]:
        return [e for e in self.entries if not e.flipped and e.reasons_changed]

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "replayed": self.replayed,
                "flipped": [e.to_dict() for e in self.flips],
                "reasons_changed": [e.to_dict() for e in self.changed_reasons]}

    def render(self) -> str:
        p = self.policy
        lines = [(f"replayed {self.replayed} recorded decision(s) (requests, and generated images judged "
                  f"before signing) under {p['uid']} v{p['version']}: "
                  f"{len(self.flips)} would flip, {len(self.changed_reasons)} would change reasons")]
        for e in self.flips + self.changed_reasons:
            what = f"request #{e.request}" + (f", its image (review {e.review})" if e.review else "")
            head = f"{what}: {e.old} -> {e.new}" if e.flipped else f"{what}: {e.old} (same)"
            lines.append(f"  {head} (was decided under {e.old_policy})")
            lines += [f"    + {r}" for r in e.added] + [f"    - {r}" for r in e.removed]
        return "\n".join(lines)


def _reason_set(violations: Iterable[dict[str, Any]], approvals: Iterable[dict[str, Any]],
                duties: Iterable[dict[str, Any]]) -> set[str]:
    return ({f"violates {r}" for r in _reasons(violations)} | {f"approval {r}" for r in _reasons(approvals)}
            | {f"duty {r}" for r in _reasons(duties)})


def compare(record: DecisionRecord, new: Decision) -> ReplayEntry:
    before = _reason_set(record.violations, record.approvals, record.duties)
    data = new.to_dict()
    after = _reason_set(data["violations"], data["approvals"], data["duties"])
    pv = record.policy_version
    return ReplayEntry(record.request_id, f"{pv.uid}@{pv.version}", record.outcome, new.outcome,
                       tuple(sorted(after - before)), tuple(sorted(before - after)))


def latest_decisions(limit: int | None = None) -> Iterable[DecisionRecord]:
    """The latest decision of each recorded request, newest request first.

    One query (with each decision's policy version joined), not one per request: replay
    runs over every recorded request before a version is published.
    """
    latest = (DecisionRecord.select(fn.MAX(DecisionRecord.id)).group_by(DecisionRecord.request))
    if limit:  # only the newest requests' decisions are grouped, so a limited replay stays bounded
        newest = GenerationRequest.select(GenerationRequest.id).order_by(GenerationRequest.id.desc()).limit(limit)
        latest = latest.where(DecisionRecord.request.in_(newest))
    query = (DecisionRecord.select(DecisionRecord, PolicyVersion).join(PolicyVersion)
             .where(DecisionRecord.id.in_(latest)).order_by(DecisionRecord.request.desc()))
    if limit:
        query = query.limit(limit)
    return query


def recorded_request_count() -> int:
    """How many requests have a recorded decision: what a full replay would re-decide. A
    page replaying only the newest says this figure beside its own. Every request is stored
    with its decision in one transaction (``requests.decide``), so the requests are counted
    (tens of ms at a million; asking which have a decision took a second)."""
    return int(GenerationRequest.select().count())


def replay(policy: CompiledPolicy, limit: int | None = None,
           outputs: Iterable[RecordedOutput] = ()) -> ReplayReport:
    """Each recorded request's latest decision, and each recorded output decision
    (``outputs``, judged by the rules about ``output`` only), under ``policy``."""
    shared: dict[str, Any] = {}  # training facts most decisions share, read once
    entries = [compare(r, policy.evaluate(_as_judged_by(policy, decision_facts(r, shared))))
               for r in latest_decisions(limit)]
    entries += [compare_output(o, policy.evaluate_output(o.facts)) for o in outputs]
    return ReplayReport(policy.ref.to_dict(), len(entries), tuple(entries))


def _as_judged_by(policy: CompiledPolicy, facts: dict[str, Any]) -> dict[str, Any]:
    """Facts recorded with training images by class, given one entry per image where the
    candidate policy tells them apart (``clearance.judges_each_member``)."""
    if facts.get("training_assets") and judges_each_member(policy.policy):
        return {**facts, "training_assets": each_member(facts["training_assets"])}
    return facts


def compare_output(recorded: RecordedOutput, new: Decision) -> ReplayEntry:
    before = _reason_set(recorded.violations, recorded.approvals, ())
    data = new.to_dict()
    after = _reason_set(data["violations"], data["approvals"], ())
    return ReplayEntry(recorded.request, recorded.policy, recorded.outcome, new.outcome,
                       tuple(sorted(after - before)), tuple(sorted(before - after)), recorded.review)
