"""Who must sign off a request policy routed to review, and whether the sign-offs given do.

Each approval finding of a decision states a requirement (its ``"approvers"``: roles,
count, from the production, department, not the requester's department). Findings with
equal requirements share their sign-offs; different requirements need different people.
So the sign-offs are matched to requirement slots (``count`` slots each) as a bipartite
matching by augmenting paths: one person fills at most one slot across every requirement,
and the requester fills none.

Plain values only: no database, no web. The lifecycle reads the rows and the users and
hands them here as ``Signer`` values; this module only judges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..policy.document import DEFAULT_APPROVERS, Approvers

#: a decision stored before approval rules named anyone: one approver clears it
DEFAULT_ROLES = DEFAULT_APPROVERS.roles
#: more slots than this is a policy mistake, not a quorum
MAX_COUNT = 20


@dataclass(frozen=True)
class Requirement:
    """Who may sign off one approval rule, and how many distinct people must."""

    roles: tuple[str, ...] = DEFAULT_ROLES
    count: int = 1
    from_production: bool = False
    department: str | None = None
    not_requester_department: bool = False

    def __post_init__(self) -> None:
        if not self.roles or not all(isinstance(r, str) and r for r in self.roles):
            raise InvalidInput("an approval requirement names at least one role")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or not 1 <= self.count <= MAX_COUNT:
            raise InvalidInput(f"an approval requirement needs between 1 and {MAX_COUNT} sign-offs")
        if self.department is not None and (not isinstance(self.department, str) or not self.department):
            raise InvalidInput("an approval requirement's department is a name")

    @classmethod
    def of_finding(cls, finding: Mapping[str, Any]) -> Requirement:
        """From an approval finding as stored; one without ``approvers`` wants one approver."""
        said = Approvers.from_dict(finding.get("approvers"), finding.get("rule"))
        return cls(tuple(sorted(set(said.roles))), said.count, said.from_production, said.department,
                   said.not_requester_department)

    def describe(self, production: str) -> str:
        """'legal, a member of harbour-lights, from marketing'."""
        parts = [" or ".join(self.roles)]
        if self.from_production:
            parts.append(f"a member of {production}")
        if self.department:
            parts.append(f"from {self.department}")
        if self.not_requester_department:
            parts.append("not from the requester's department")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "count": self.count, "from_production": self.from_production,
                "department": self.department, "not_requester_department": self.not_requester_department}


@dataclass(frozen=True)
class Need:
    """One requirement and the approval rules that state it (they share its sign-offs)."""

    requirement: Requirement
    rules: tuple[str, ...]


def needs_of(findings: Iterable[Mapping[str, Any]]) -> tuple[Need, ...]:
    """The approval findings grouped by equal requirement, in the order they first appear."""
    grouped: dict[Requirement, list[str]] = {}
    for finding in findings:
        rules = grouped.setdefault(Requirement.of_finding(finding), [])
        rule = str(finding.get("rule", ""))
        if rule not in rules:
            rules.append(rule)
    return tuple(Need(requirement, tuple(rules)) for requirement, rules in grouped.items())


@dataclass(frozen=True)
class Signer:
    """A person as the requirements judge them."""

    name: str
    roles: frozenset[str] = frozenset()
    productions: frozenset[str] = frozenset()
    department: str | None = None


@dataclass(frozen=True)
class Request:
    """What of the request the requirements look at: its production and who asked."""

    production: str
    requester: str
    requester_department: str | None = None


def eligible(requirement: Requirement, signer: Signer, request: Request) -> bool:
    """May ``signer`` fill a slot of ``requirement`` on ``request``? (an admin only if named)"""
    if signer.name == request.requester or not signer.roles & set(requirement.roles):
        return False
    if requirement.from_production and request.production not in signer.productions:
        return False
    if requirement.department is not None and signer.department != requirement.department:
        return False
    return not (requirement.not_requester_department and request.requester_department is not None
                and signer.department == request.requester_department)


def _match(needs: Sequence[Need], signers: Sequence[Signer], request: Request) -> dict[int, int]:
    """signer index -> need index, a maximum matching (Kuhn's augmenting paths, signers in order)."""
    slots = [n for n, need in enumerate(needs) for _ in range(need.requirement.count)]
    fits = [[s for s, need_index in enumerate(slots) if eligible(needs[need_index].requirement, signer, request)]
            for signer in signers]
    holder: dict[int, int] = {}  # slot -> signer

    def augment(signer: int, seen: set[int]) -> bool:
        for slot in fits[signer]:
            if slot not in seen:
                seen.add(slot)
                if slot not in holder or augment(holder[slot], seen):
                    holder[slot] = signer
                    return True
        return False

    for index in range(len(signers)):
        augment(index, set())
    return {signer: slots[slot] for slot, signer in holder.items()}


@dataclass(frozen=True)
class NeedStanding:
    """One requirement: its rules, who fills it, and how many more it needs."""

    requirement: Requirement
    rules: tuple[str, ...]
    filled_by: tuple[str, ...]
    outstanding: int
    description: str

    @property
    def met(self) -> bool:
        return self.outstanding == 0

    def to_dict(self) -> dict[str, Any]:
        return {"rules": list(self.rules), "approvers": self.requirement.to_dict(), "filled_by": list(self.filled_by),
                "outstanding": self.outstanding, "met": self.met, "needed": self.description}


@dataclass(frozen=True)
class Standing:
    """Where the sign-offs of a request stand: each requirement, and what is still needed."""

    needs: tuple[NeedStanding, ...]
    request: Request
    _needs: tuple[Need, ...] = field(repr=False)
    _signers: tuple[Signer, ...] = field(repr=False)

    @property
    def met(self) -> bool:
        return all(n.met for n in self.needs)

    @property
    def outstanding(self) -> tuple[str, ...]:
        """'needs 1 more sign-off from legal, a member of harbour-lights' per unmet requirement."""
        return tuple(f"needs {n.outstanding} more sign-off{'s' if n.outstanding > 1 else ''} from {n.description}"
                     f" ({', '.join(n.rules)})" for n in self.needs if not n.met)

    def rules_of(self, name: str) -> tuple[str, ...]:
        """The rules ``name``'s sign-off satisfies in this matching (none if it fills no slot)."""
        return tuple(rule for n in self.needs if name in n.filled_by for rule in n.rules)

    def can_fill(self, signer: Signer) -> bool:
        """Would this person's sign-off fill a slot no one fills now? Never twice, never the requester."""
        if signer.name == self.request.requester or any(s.name == signer.name for s in self._signers):
            return False
        before = sum(len(n.filled_by) for n in self.needs)
        return len(_match(self._needs, (*self._signers, signer), self.request)) > before

    def with_signer(self, signer: Signer) -> Standing:
        return status(self._needs, (*self._signers, signer), self.request)

    def to_dict(self) -> dict[str, Any]:
        return {"met": self.met, "requirements": [n.to_dict() for n in self.needs],
                "outstanding": list(self.outstanding)}


def status(needs: Sequence[Need], signers: Sequence[Signer], request: Request) -> Standing:
    """Match the sign-offs given (in the order given) to the requirements' slots."""
    signers = tuple(signers)
    matched = _match(needs, signers, request)
    standings = []
    for index, need in enumerate(needs):
        filled = tuple(signers[s].name for s in sorted(matched) if matched[s] == index)
        standings.append(NeedStanding(need.requirement, need.rules, filled, need.requirement.count - len(filled),
                                      need.requirement.describe(request.production)))
    return Standing(tuple(standings), request, tuple(needs), signers)
