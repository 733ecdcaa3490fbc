"""A policy as plain values: what the loader produces and the compiler reads.

Nothing here evaluates anything; these classes only hold a validated policy file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from ..errors import InvalidInput

RuleType = Literal["prohibition", "requirement", "approval"]
Target = Literal["request", "reference", "training_asset", "performer", "output", "training"]
Operand = str | int | float | bool | None | tuple[str | int | float | bool, ...]
Quantifier = Literal["every", "any", "none"]


@dataclass(frozen=True)
class Leaf:
    left: str
    operator: str
    right: Operand = None
    #: a path whose value is the right operand (ODRL's rightOperandReference)
    right_ref: str | None = None
    #: the named list (the policy's ``lists``) the right operand was taken from
    right_list: str | None = None


@dataclass(frozen=True)
class AllOf:
    items: tuple[Constraint, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Constraint, ...]


@dataclass(frozen=True)
class Not:
    item: Constraint


@dataclass(frozen=True)
class Quantified:
    """``every`` / ``any`` / ``none`` item of ``over`` (bound to ``var``) satisfies ``body``."""

    quantifier: Quantifier
    over: str
    var: str
    body: Constraint


@dataclass(frozen=True)
class Count:
    """How many items of ``over`` (bound to ``var``) satisfy ``where``, compared with a number."""

    over: str
    var: str
    where: Constraint | None
    operator: str
    right: int | float


Constraint = Leaf | AllOf | AnyOf | Not | Quantified | Count


@dataclass(frozen=True)
class Approvers:
    """Who must sign off a request an approval rule routes to review."""

    roles: tuple[str, ...] = ("approver",)
    #: distinct people
    count: int = 1
    #: a member of the request's production
    from_production: bool = False
    #: the approver's department, when the rule names one
    department: str | None = None
    #: not someone from the requester's own department
    not_requester_department: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "count": self.count, "from_production": self.from_production,
                "department": self.department, "not_requester_department": self.not_requester_department}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, rule: object = None) -> Approvers:
        """From a stored approval finding (the one reading of that format: the decision's and
        the sign-offs'); a finding recorded before rules named approvers has none, which
        means what it meant then: any one user with the approver role. A value of the wrong
        shape (a database edit) is ``InvalidInput`` naming the rule, never a crash."""
        if data is None:
            return DEFAULT_APPROVERS
        if not isinstance(data, Mapping):
            raise InvalidInput(f"the approval rule {rule!r} states its approvers malformed")
        roles = data.get("roles", list(DEFAULT_APPROVERS.roles))
        if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) for r in roles):
            raise InvalidInput(f"the approval rule {rule!r} lists its roles malformed")
        count = data.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int):
            raise InvalidInput(f"the approval rule {rule!r} states its count of sign-offs malformed")
        return cls(tuple(roles), count, bool(data.get("from_production", False)), data.get("department"),
                   bool(data.get("not_requester_department", False)))


DEFAULT_APPROVERS = Approvers()


@dataclass(frozen=True)
class Disclosure:
    """What the people a decision routes to may read of a request, beyond its evidence.

    The prompt is confidential (credentials and decisions carry its SHA-256 only); a policy
    that wants approvers to judge the words themselves says so (``disclosure:
    {approversSeePrompt: true}``), and only someone who may sign off the request then sees
    them, on its approval page. Off unless a policy turns it on.
    """

    approvers_see_prompt: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"approversSeePrompt": self.approvers_see_prompt}


@dataclass(frozen=True)
class Rule:
    id: str
    type: RuleType
    title: str
    #: the kinds of subject the rule looks at, in the order Slate iterates targets
    targets: tuple[Target, ...]
    constraint: Constraint
    when: Constraint | None = None
    description: str = ""
    #: approval rules only: who must sign off
    approvers: Approvers | None = None

    @property
    def target(self) -> Target:
        """The first target (most rules have one)."""
        return self.targets[0]


@dataclass(frozen=True)
class Duty:
    id: str
    action: str
    title: str
    targets: tuple[Target, ...]
    when: Constraint | None = None
    credit: str | None = None
    credit_from: str | None = None
    description: str = ""

    @property
    def target(self) -> Target:
        return self.targets[0]


@dataclass(frozen=True)
class Policy:
    uid: str
    version: int
    title: str
    rules: tuple[Rule, ...]
    duties: tuple[Duty, ...]
    #: SHA-256 of the file bytes, exactly as read: what a decision cites
    sha256: str
    description: str = ""
    #: the parsed file, for rule-level diffs
    raw: Any = None
    #: named lists, as the file defines them (comparisons hold their values already)
    lists: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    #: what approvers may read of a request (the prompt), as the file's ``disclosure`` says
    disclosure: Disclosure = Disclosure()

    def rule_ids(self) -> list[str]:
        return [r.id for r in self.rules] + [d.id for d in self.duties]

    def reads(self, path: str) -> bool:
        """Whether a rule compares ``path`` (on either side of a comparison)."""
        return any(path in _paths(c) for r in self.rules for c in (r.when, r.constraint) if c is not None)

    def reads_on(self, target: str, paths: frozenset[str]) -> bool:
        """Whether a rule or duty about ``target`` reads any of ``paths`` (a comparison, a
        quantifier's collection, or a duty's credit)."""
        read: set[str] = set()
        for r in self.rules:
            if target in r.targets:
                read.update(*(_paths(c) for c in (r.when, r.constraint) if c is not None))
        for d in self.duties:
            if target in d.targets:
                read.update(_paths(d.when) if d.when is not None else ())
                read.update((d.credit_from,) if d.credit_from else ())
        return not read.isdisjoint(paths)


def _paths(c: Constraint) -> set[str]:
    if isinstance(c, Leaf):
        return {c.left} | ({c.right_ref} if c.right_ref else set())
    if isinstance(c, (AllOf, AnyOf)):
        return set().union(*(_paths(i) for i in c.items))
    if isinstance(c, Not):
        return _paths(c.item)
    if isinstance(c, Quantified):
        return {c.over} | _paths(c.body)
    return {c.over} | (_paths(c.where) if c.where is not None else set())


def constraint_from_dict(data: dict[str, Any], lists: Mapping[str, tuple[Any, ...]] | None = None) -> Constraint:
    """Build a constraint from a dict the loader has already checked; ``rightOperandList``
    names are replaced by the list's values (and kept, for evidence and export)."""
    lists = lists or {}
    if "and" in data:
        return AllOf(tuple(constraint_from_dict(c, lists) for c in data["and"]))
    if "or" in data:
        return AnyOf(tuple(constraint_from_dict(c, lists) for c in data["or"]))
    if "not" in data:
        return Not(constraint_from_dict(data["not"], lists))
    for quantifier in ("every", "any", "none"):
        if quantifier in data:
            q = data[quantifier]
            return Quantified(quantifier, q["over"], q["as"], constraint_from_dict(q["satisfies"], lists))
    if "count" in data:
        q = data["count"]
        return Count(q["over"], q["as"], constraint_from_dict(q["where"], lists) if "where" in q else None,
                     data["operator"], data["rightOperand"])
    right = data.get("rightOperand")
    named = data.get("rightOperandList")
    if named is not None:
        right = tuple(lists[named])
    elif isinstance(right, list):
        right = tuple(right)
    return Leaf(data["leftOperand"], data["operator"], right, data.get("rightOperandReference"), named)


def targets_of(raw: str | list[str]) -> tuple[Target, ...]:
    """A rule's ``target`` (one name or a list) in Slate's target order, each once."""
    from .facts import TARGETS
    named = {raw} if isinstance(raw, str) else set(raw)
    return tuple(t for t in TARGETS if t in named)  # type: ignore[misc]
