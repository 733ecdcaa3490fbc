"""The closed list of constraint operators a policy may use.

Each operator is a plain function of the left and right operand values; a policy names
one of them and can never bring its own. An operand that is absent (``None``) makes
every comparison false, so a missing fact fails a requirement rather than passing it.

Operators also say which operand shapes they take, so the loader can reject
``consent.uses lt 3`` before anything is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

#: What an operand holds: one value, a list of values, or either (``eq`` on lists).
Shape = Literal["scalar", "list", "any", "bool"]


@dataclass(frozen=True)
class Operator:
    name: str
    meaning: str
    left: Shape
    right: Shape
    test: Callable[[Any, Any], bool]
    #: set operators shown on a sensitive list (the prompt's words) reveal only the overlap
    reveals_overlap: bool = False


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
            return False
        if isinstance(left, str) != isinstance(right, str):
            return False
        return test(left, right)
    return compare


def _has_part(left: Any, right: Any) -> bool:
    return left is not None and right is not None and right in left


def _is_any_of(left: Any, right: Any) -> bool:
    return left is not None and left in right


def _is_none_of(left: Any, right: Any) -> bool:
    return left is not None and left not in right


def _has_any_of(left: Any, right: Any) -> bool:
    return left is not None and not right.isdisjoint(left)


def _has_none_of(left: Any, right: Any) -> bool:
    return left is not None and right.isdisjoint(left)


def _is_all_of(left: Any, right: Any) -> bool:
    return left is not None and right.issubset(left)


def _is_part_of(left: Any, right: Any) -> bool:
    if left is None:
        return False
    return right.issuperset(left) if isinstance(left, (list, tuple)) else left in right


def _exists(left: Any, right: Any) -> bool:
    return (left is not None) is right


_OPERATORS = [
    Operator("eq", "is equal to", "any", "any", lambda a, b: a is not None and a == b),
    Operator("neq", "is not equal to", "any", "any", lambda a, b: a is not None and a != b),
    Operator("lt", "is less than (numbers, dates)", "scalar", "scalar", _ordered(lambda a, b: a < b)),
    Operator("lteq", "is less than or equal to (numbers, dates)", "scalar", "scalar",
             _ordered(lambda a, b: a <= b)),
    Operator("gt", "is greater than (numbers, dates)", "scalar", "scalar", _ordered(lambda a, b: a > b)),
    Operator("gteq", "is greater than or equal to (numbers, dates)", "scalar", "scalar",
             _ordered(lambda a, b: a >= b)),
    Operator("before", "is a date strictly before", "scalar", "scalar", _ordered(lambda a, b: a < b)),
    Operator("after", "is a date strictly after", "scalar", "scalar", _ordered(lambda a, b: a > b)),
    Operator("isAnyOf", "is one of the listed values", "scalar", "list", _is_any_of),
    Operator("isNoneOf", "is none of the listed values", "scalar", "list", _is_none_of),
    Operator("isPartOf", "is (each of its items is) among the listed values", "any", "list",
             _is_part_of, reveals_overlap=True),
    Operator("isAllOf", "includes every one of the listed values", "list", "list", _is_all_of,
             reveals_overlap=True),
    Operator("hasPart", "(a list) includes the value", "list", "scalar", _has_part, reveals_overlap=True),
    Operator("contains", "(a list) includes the value; same as hasPart", "list", "scalar", _has_part,
             reveals_overlap=True),
    Operator("hasAnyOf", "(a list) shares at least one value with the listed values", "list", "list",
             _has_any_of, reveals_overlap=True),
    Operator("hasNoneOf", "(a list) shares no value with the listed values", "list", "list",
             _has_none_of, reveals_overlap=True),
    Operator("exists", "is present (true) or absent (false)", "any", "bool", _exists),
]

OPERATORS: dict[str, Operator] = {op.name: op for op in _OPERATORS}

#: Operators whose right operand is a list: compiled once into a frozenset for speed.
SET_RIGHT = frozenset(name for name, op in OPERATORS.items() if op.right == "list")
#: Operators that order values; both operands must be of the same kind.
ORDERING = frozenset({"lt", "lteq", "gt", "gteq", "before", "after"})
DATE_ONLY = frozenset({"before", "after"})


def overlap(left: Any, right: Any) -> list[Any]:
    """The part of a list operand that an operator looked at: what evidence may show."""
    if left is None:
        return []
    items = right if isinstance(right, (set, frozenset, list, tuple)) else {right}
    return sorted(v for v in set(left) if v in items)
