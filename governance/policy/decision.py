"""What an evaluation returns: a decision with its reasons, as frozen values.

A ``Decision`` says allow, deny or needs_approval; for a deny, every violated rule with
evidence per subject (value found, operator, value required); every duty the output
must carry; every rule that sends it to a human; the policy it ran under (uid, version,
SHA-256 of the file bytes); and a digest naming exactly the facts judged (see ``inputs``
for how it is computed) with the registry records used.
It never holds prompt text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .document import Approvers
from .inputs import LEGACY_SCHEME

Outcome = Literal["allow", "deny", "needs_approval"]
ALLOW: Outcome = "allow"
DENY: Outcome = "deny"
NEEDS_APPROVAL: Outcome = "needs_approval"


def frozen(value: Any) -> Any:
    """Lists become tuples so that a frozen value is frozen all the way down."""
    if isinstance(value, list):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    if isinstance(value, tuple):
        return [thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class Evidence:
    """One comparison that decided a rule: ``found`` ``operator`` ``required`` gave ``result``."""

    path: str
    operator: str
    found: Any
    required: Any
    result: bool
    #: the path the required value was read from, when it came from the facts
    required_from: str | None = None
    #: which item of a quantified collection this is about ("person:Kit Young", a name)
    item: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"path": self.path, "operator": self.operator, "found": thawed(self.found),
                "required": thawed(self.required), "result": self.result}
        if self.required_from:
            data["required_from"] = self.required_from
        if self.item is not None:
            data["item"] = self.item
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        return cls(data["path"], data["operator"], frozen(data.get("found")), frozen(data.get("required")),
                   bool(data["result"]), data.get("required_from"), data.get("item"))


@dataclass(frozen=True)
class Finding:
    """A rule that fired for one subject: violated (prohibition, requirement) or routed (approval)."""

    rule: str
    type: str
    title: str
    subject: str
    evidence: tuple[Evidence, ...]
    #: approval findings: who must sign off (a finding stored before rules said has none,
    #: which means one user with the approver role)
    approvers: Approvers | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "type": self.type, "title": self.title,
                                "subject": self.subject, "evidence": [e.to_dict() for e in self.evidence]}
        if self.approvers is not None:
            data["approvers"] = self.approvers.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(data["rule"], data["type"], data["title"], data["subject"],
                   tuple(Evidence.from_dict(e) for e in data.get("evidence", [])),
                   Approvers.from_dict(data["approvers"]) if "approvers" in data else None)


@dataclass(frozen=True)
class DutyDue:
    """A duty a permitted output must carry, e.g. a credit line for one licensed asset."""

    rule: str
    action: str
    title: str
    subject: str
    text: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "action": self.action, "title": self.title,
                "subject": self.subject, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DutyDue:
        return cls(data["rule"], data["action"], data["title"], data["subject"], data.get("text"))


@dataclass(frozen=True)
class PolicyRef:
    uid: str
    version: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class Inputs:
    """The digest naming exactly the facts judged, the scheme it was computed under (see
    ``inputs``: 2 composes per-part digests, 1 hashed the whole facts), and the registry
    records (id, version) the facts came from.

    A stored decision keeps the scheme with its records (``records["digest_scheme"]``);
    decisions stored before there was a choice have none, which means scheme 1.
    """

    digest: str
    consents: tuple[tuple[str, Any], ...] = ()
    licences: tuple[tuple[str, Any], ...] = ()
    models: tuple[tuple[str, Any], ...] = ()
    scheme: int = LEGACY_SCHEME

    def to_dict(self) -> dict[str, Any]:
        def rows(pairs: tuple[tuple[str, Any], ...]) -> list[dict[str, Any]]:
            return [{"id": i, "version": v} for i, v in pairs]
        return {"digest": self.digest, "digest_scheme": self.scheme,
                "records": {"consents": rows(self.consents), "licences": rows(self.licences),
                            "models": rows(self.models)}}

    def records_to_store(self) -> dict[str, Any]:
        """The records as a decision row keeps them, with the digest's scheme."""
        return {**self.to_dict()["records"], "digest_scheme": self.scheme}

    @classmethod
    def from_records(cls, digest: str, records: dict[str, Any]) -> Inputs:
        def pairs(kind: str) -> tuple[tuple[str, Any], ...]:
            return tuple((str(r["id"]), r.get("version")) for r in records.get(kind, []))
        return cls(digest, pairs("consents"), pairs("licences"), pairs("models"),
                   int(records.get("digest_scheme", LEGACY_SCHEME)))


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    policy: PolicyRef
    violations: tuple[Finding, ...]
    approvals: tuple[Finding, ...]
    duties: tuple[DutyDue, ...]
    inputs: Inputs

    @property
    def violated_rules(self) -> list[str]:
        return sorted({v.rule for v in self.violations})

    @property
    def approval_rules(self) -> list[str]:
        return sorted({a.rule for a in self.approvals})

    @property
    def duty_rules(self) -> list[str]:
        return sorted({d.rule for d in self.duties})

    @property
    def credits(self) -> list[str]:
        """Distinct credit lines, in the order they first appear."""
        return list(dict.fromkeys(d.text for d in self.duties if d.action == "attribute" and d.text))

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.outcome,
            "policy": self.policy.to_dict(),
            "violations": [v.to_dict() for v in self.violations],
            "approvals": [a.to_dict() for a in self.approvals],
            "duties": [d.to_dict() for d in self.duties],
            "credits": self.credits,
            "inputs": self.inputs.to_dict(),
        }
