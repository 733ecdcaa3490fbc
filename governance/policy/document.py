"""A policy as plain values: what the loader produces and the compiler reads.

Nothing here evaluates anything; these classes only hold a validated policy file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

RuleType = Literal["prohibition", "requirement", "approval"]
Target = Literal["request", "reference", "training_asset", "performer"]
Operand = str | int | float | bool | None | tuple[str | int | float | bool, ...]


@dataclass(frozen=True)
class Leaf:
    left: str
    operator: str
    right: Operand = None
    #: a path whose value is the right operand (ODRL's rightOperandReference)
    right_ref: str | None = None


@dataclass(frozen=True)
class AllOf:
    items: tuple[Constraint, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Constraint, ...]


@dataclass(frozen=True)
class Not:
    item: Constraint


Constraint = Leaf | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Rule:
    id: str
    type: RuleType
    title: str
    target: Target
    constraint: Constraint
    when: Constraint | None = None
    description: str = ""


@dataclass(frozen=True)
class Duty:
    id: str
    action: str
    title: str
    target: Target
    when: Constraint | None = None
    credit: str | None = None
    credit_from: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Policy:
    uid: str
    version: int
    title: str
    rules: tuple[Rule, ...]
    duties: tuple[Duty, ...]
    #: SHA-256 of the file's bytes, exactly as read: what a decision cites
    sha256: str
    description: str = ""
    #: the parsed file, for rule-level diffs
    raw: Any = None

    def rule_ids(self) -> list[str]:
        return [r.id for r in self.rules] + [d.id for d in self.duties]


def constraint_from_dict(data: dict[str, Any]) -> Constraint:
    """Build a constraint from a dict the loader has already checked."""
    if "and" in data:
        return AllOf(tuple(constraint_from_dict(c) for c in data["and"]))
    if "or" in data:
        return AnyOf(tuple(constraint_from_dict(c) for c in data["or"]))
    if "not" in data:
        return Not(constraint_from_dict(data["not"]))
    right = data.get("rightOperand")
    if isinstance(right, list):
        right = tuple(right)
    return Leaf(data["leftOperand"], data["operator"], right, data.get("rightOperandReference"))
