"""Static analysis of a policy on publish: rules that can never fire, rules shadowed by
others, and constraints that always hold (the checks Cedar's analyser makes).

Each warning must be true of every facts Slate can build; a warning that cannot be proved
is not given (false negatives are acceptable, false warnings are not). The analysis works
on the constraint tree only, never on facts: a constraint becomes a disjunction of
conjunctions of literals (``_expand``, bounded by ``MAX_DISJUNCTS``), and a
conjunction is contradictory when the literals on one path cannot all hold for any value
that path may take (``_contradiction``). A node type the analysis does not know (a
quantifier, a count) is opaque: it may hold or fail, so it makes a conjunction
contradictory only where the very same node must also fail. ``_EXPANDERS`` is the one
place that says how each node type expands; a type added there must expand soundly.

Nothing here evaluates a request, reads the database, or imports a transport.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, Literal

from . import facts as F
from .document import AllOf, AnyOf, Constraint, Duty, Leaf, Not, Policy, Rule
from .operators import OPERATORS, SET_RIGHT

Kind = Literal["never-fires", "shadowed", "always-true"]

#: Beyond this many alternatives a constraint is not analysed (no warning, never a wrong one).
MAX_DISJUNCTS = 256

#: Paths every request's facts hold a value at (``facts.complete`` and the registry's facts
#: builder set them): ``exists true`` on one always holds, ``exists false`` never does.
ALWAYS_PRESENT = frozenset({
    "request", "request.prompt_terms", "request.named_people", "request.depicts_people",
    "performer.depicted", "performer.named_in_prompt", "performer.in_reference", "performer.consent_pending",
})
#: Closed vocabularies: the registry refuses a request whose value is not one of these
#: (``registry_facts`` checks ``request.use`` against ``facts.USES``); keep the two in step.
VOCABULARIES: dict[str, tuple[Any, ...]] = {"request.use": F.USES}

_LEAF_FIELDS = frozenset({"left", "operator", "right", "right_ref"})
_ORDERING_LOWER = {"gt": True, "gteq": False, "after": True}  # operator -> strict
_ORDERING_UPPER = {"lt": True, "lteq": False, "before": True}
_DENY_TYPES = frozenset({"prohibition", "requirement"})
#: ``performer.x`` reads the subject's own flag x, not a field of a record named performer
_NOT_RECORDS = frozenset({"performer"})


@dataclass(frozen=True)
class PolicyWarning:
    """Something legal should look at before publishing: true of every request."""

    kind: Kind
    rule: str
    message: str
    paths: tuple[str, ...]
    #: the rule that shadows ``rule`` (``shadowed`` only)
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rule": self.rule, "message": self.message, "paths": list(self.paths),
                "by": self.by}


# --- constraints as alternatives of literals ---------------------------------------------

@dataclass(frozen=True)
class Lit:
    """A leaf that must hold (``positive``) or must not."""

    leaf: Leaf
    positive: bool

    def describe(self) -> str:
        leaf = self.leaf
        right = f"the value of {leaf.right_ref}" if leaf.right_ref else _show(leaf.right)
        return f"{'' if self.positive else 'not '}{leaf.left} {leaf.operator} {right}"


@dataclass(frozen=True)
class Atom:
    """A node the analysis does not look inside (a quantifier, a count): it may hold or fail,
    but, being a function of the facts and the subject like every constraint, not both."""

    node: Any
    positive: bool


Conjunction = tuple[Lit | Atom, ...]
Alternatives = list[Conjunction] | None  # None: too many to analyse


def _expand_leaf(node: Any, positive: bool) -> Alternatives:
    return [(Lit(node, positive),)]


def _expand_all(items: Sequence[Constraint], positive: bool, conjoin: bool) -> Alternatives:
    parts = [_expand(item, positive) for item in items]
    if any(p is None for p in parts):
        return None
    if not conjoin:
        out = [c for p in parts for c in p or ()]
        return out if len(out) <= MAX_DISJUNCTS else None
    combined: list[Conjunction] = [()]
    for part in parts:
        assert part is not None
        if len(combined) * len(part) > MAX_DISJUNCTS:
            return None
        combined = [a + b for a, b in product(combined, part)]
    return combined


def _expand_and(node: Any, positive: bool) -> Alternatives:
    return _expand_all(node.items, positive, conjoin=positive)


def _expand_or(node: Any, positive: bool) -> Alternatives:
    return _expand_all(node.items, positive, conjoin=not positive)


def _expand_not(node: Any, positive: bool) -> Alternatives:
    return _expand(node.item, not positive)


#: How each constraint node type becomes alternatives of literals; any other type is opaque.
_EXPANDERS: dict[type, Callable[[Any, bool], Alternatives]] = {
    Leaf: _expand_leaf, AllOf: _expand_and, AnyOf: _expand_or, Not: _expand_not,
}


def _expand(node: Constraint, positive: bool = True) -> Alternatives:
    """The alternatives (each a conjunction of literals) under which ``node`` holds
    (``positive``) or fails."""
    expander = _EXPANDERS.get(type(node))
    return [(Atom(node, positive),)] if expander is None else expander(node, positive)


def _children(node: Any) -> tuple[Any, ...]:
    """Sub-constraints the always-true check looks inside; an opaque node's are not (they may
    speak of a quantifier's variable)."""
    if isinstance(node, (AllOf, AnyOf)):
        return tuple(node.items)
    if isinstance(node, Not):
        return (node.item,)
    return ()


# --- when a conjunction cannot hold --------------------------------------------------------

def _show(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def _known(leaf: Leaf) -> bool:
    """A leaf of a known operator with no field the analysis does not know the meaning of."""
    extra = [f.name for f in dataclasses.fields(leaf) if f.name not in _LEAF_FIELDS]
    return leaf.operator in OPERATORS and all(getattr(leaf, name) in (None, (), "") for name in extra)


def _plain(leaf: Leaf) -> bool:
    """A leaf the analysis can evaluate: known, with a fixed right operand."""
    return leaf.right_ref is None and _known(leaf)


def _holds(lit: Lit, value: Any) -> bool:
    """Whether ``lit`` can hold when its path has ``value`` (True when that cannot be told)."""
    leaf = lit.leaf
    if not _known(leaf):
        return True
    if leaf.right_ref is not None:
        # every operator but exists is false of an absent left operand, whatever the right one
        return lit.positive is False if value is None and leaf.operator != "exists" else True
    right: Any = leaf.right
    if leaf.operator in SET_RIGHT and right is not None:
        right = frozenset(right)
    elif isinstance(right, tuple):
        right = list(right)
    try:
        return OPERATORS[leaf.operator].test(value, right) is lit.positive
    except (TypeError, AttributeError, ValueError):  # it cannot compare them: say nothing rather than guess
        return True


def _equal_values(x: Any) -> list[Any] | None:
    """Every JSON value facts may hold that ``==`` x (None when that cannot be listed)."""
    if isinstance(x, str):
        return [x]
    if isinstance(x, bool):
        return [x, int(x), float(x)]
    if isinstance(x, (int, float)):
        out: list[Any] = [x, float(x)]
        if float(x).is_integer():
            out.append(int(x))
        if x in (0, 1):
            out.append(bool(x))
        return out
    if isinstance(x, (tuple, list)) and all(isinstance(v, str) for v in x):
        return [list(x)]
    return None


def _pins(lit: Lit) -> list[Any] | None:
    """The values a literal leaves its path, when it names them."""
    leaf = lit.leaf
    if not _plain(leaf):
        return None
    if leaf.operator == "exists" and leaf.right is (not lit.positive):
        return [None]
    if lit.positive and leaf.operator == "eq" and leaf.right is not None:
        return _equal_values(leaf.right)
    if lit.positive and leaf.operator == "isAnyOf" and isinstance(leaf.right, tuple):
        values = [_equal_values(v) for v in leaf.right]
        return None if any(v is None for v in values) else [x for v in values for x in v or ()]
    return None


def _candidate_sets(path: str, lits: Sequence[Lit], absent: set[str]) -> list[list[Any]]:
    """Sets of values, each holding every value ``path`` may take under ``lits``."""
    sets = [p for p in map(_pins, lits) if p is not None]
    if any(path.startswith(prefix + ".") for prefix in absent if prefix not in _NOT_RECORDS):
        sets.append([None])  # a field of an absent record is absent
    if path in VOCABULARIES:
        sets.append([*VOCABULARIES[path], None])
    if path in ALWAYS_PRESENT:
        sets = [[v for v in s if v is not None] for s in sets]
    return sets


def _range_reason(path: str, lits: Sequence[Lit]) -> str | None:
    """Ordering comparisons on one path that no single value meets."""
    bounds = [lit for lit in lits if lit.positive and _plain(lit.leaf)
              and lit.leaf.operator in _ORDERING_LOWER | _ORDERING_UPPER
              and isinstance(lit.leaf.right, (str, int, float)) and not isinstance(lit.leaf.right, bool)]
    kinds = {isinstance(lit.leaf.right, str) for lit in bounds}
    if len(kinds) > 1:
        return f"{path} is compared both as text (a date) and as a number: " + _listed(bounds)
    lower: list[tuple[Any, bool]] = [(lit.leaf.right, _ORDERING_LOWER[lit.leaf.operator]) for lit in bounds
             if lit.leaf.operator in _ORDERING_LOWER]
    upper: list[tuple[Any, bool]] = [(lit.leaf.right, _ORDERING_UPPER[lit.leaf.operator]) for lit in bounds
             if lit.leaf.operator in _ORDERING_UPPER]
    if not lower or not upper:
        return None
    low, low_strict = max(lower, key=lambda b: (b[0], b[1]))
    high, high_strict = min(upper, key=lambda b: (b[0], not b[1]))
    if low > high or (low == high and (low_strict or high_strict)):
        return f"no value of {path} meets all of: {_listed(bounds)}"
    return None


def _listed(lits: Iterable[Lit]) -> str:
    return "; ".join(lit.describe() for lit in lits)


@dataclass(frozen=True)
class _Clash:
    reason: str
    paths: tuple[str, ...]


def _contradiction(conjunction: Conjunction) -> _Clash | None:
    """Why no request satisfies every literal of ``conjunction``, or None if one may."""
    for i, a in enumerate(conjunction):
        for b in conjunction[i + 1:]:
            if a.positive != b.positive and _same_node(a, b):
                return _negated(a)
    by_path: dict[str, list[Lit]] = {}
    for lit in conjunction:
        if isinstance(lit, Lit):
            by_path.setdefault(lit.leaf.left, []).append(lit)
    absent = {path for path, lits in by_path.items()
              if any(s == [None] or s == [] for s in _candidate_sets(path, lits, set()))}
    for path, lits in by_path.items():
        for values in _candidate_sets(path, lits, absent):
            if all(any(not _holds(lit, v) for lit in lits) for v in values):
                return _Clash(_value_reason(path, lits, values, absent), (path,))
        reason = _range_reason(path, lits)
        if reason:
            return _Clash(reason, (path,))
    return None


def _same_node(a: Lit | Atom, b: Lit | Atom) -> bool:
    if isinstance(a, Lit) and isinstance(b, Lit):
        return a.leaf == b.leaf
    return isinstance(a, Atom) and isinstance(b, Atom) and bool(a.node == b.node)


def _negated(a: Lit | Atom) -> _Clash:
    if isinstance(a, Lit):
        return _Clash(f"{a.leaf.left} {a.leaf.operator} {_show(a.leaf.right)} must both hold and not hold",
                      (a.leaf.left,))
    return _Clash(f"the same {type(a.node).__name__.lower()} condition must both hold and not hold", ())


def _value_reason(path: str, lits: Sequence[Lit], values: list[Any], absent: set[str]) -> str:
    parent = next((p for p in absent if path.startswith(p + ".")), None)
    if parent is not None and values == [None]:
        return f"{path} is read where {parent} is absent, so it is absent too, yet: {_listed(lits)}"
    if not values:
        return f"{path} is always set, yet: {_listed(lits)}"
    if path in VOCABULARIES:
        return (f"{path} is always one of {', '.join(map(str, VOCABULARIES[path]))} (or absent), "
                f"and none of them meets: {_listed(lits)}")
    return f"no value of {path} meets all of: {_listed(lits)}"


def _unsatisfiable(node: Constraint, positive: bool = True) -> list[_Clash] | None:
    """Why ``node`` can never hold (``positive``) or never fail, one reason per alternative; None if
    it may, or if it is too large to tell."""
    alternatives = _expand(node, positive)
    if alternatives is None:
        return None
    clashes = [_contradiction(c) for c in alternatives]
    if any(c is None for c in clashes):
        return None
    return [c for c in clashes if c is not None]


# --- rules ---------------------------------------------------------------------------------

def _targets(rule: Rule | Duty) -> frozenset[str]:
    return frozenset(rule.targets)


def _firing(rule: Rule) -> Constraint:
    """What must hold for ``rule`` to fire for a subject (a requirement fires when its
    constraint fails)."""
    constraint = rule.constraint if rule.type != "requirement" else Not(rule.constraint)
    return constraint if rule.when is None else AllOf((rule.when, constraint))


def _paths(node: Any) -> list[str]:
    if isinstance(node, Leaf):
        return [node.left] + ([node.right_ref] if node.right_ref else [])
    return [p for child in _children(node) for p in _paths(child)]


def _summary(clashes: Sequence[_Clash]) -> tuple[str, tuple[str, ...]]:
    paths = tuple(dict.fromkeys(p for c in clashes for p in c.paths))
    reasons = list(dict.fromkeys(c.reason for c in clashes))
    if len(reasons) == 1:
        return reasons[0], paths
    return "in each of its alternatives: " + "; or ".join(reasons), paths


def _never_fires(rule: Rule | Duty) -> PolicyWarning | None:
    if isinstance(rule, Duty):
        if rule.when is None:
            return None
        clashes, what = _unsatisfiable(rule.when), f"Duty {rule.id} is never due"
    else:
        clashes, what = _unsatisfiable(_firing(rule)), f"Rule {rule.id} can never fire"
    if clashes is None:
        return None
    reason, paths = _summary(clashes)
    return PolicyWarning("never-fires", rule.id, f"{what}: its when and constraint cannot both hold "
                         f"({reason}).", paths)


_ALWAYS_CONSEQUENCE = {
    ("constraint", "requirement"): "so the requirement is never violated",
    ("constraint", "prohibition"): "so the rule fires whenever it applies",
    ("constraint", "approval"): "so every request it applies to needs approval",
    ("when", None): "so its when limits nothing",
}


def _always_true(rule: Rule | Duty) -> list[PolicyWarning]:
    parts: list[tuple[str, Constraint | None]] = [("when", rule.when)]
    if isinstance(rule, Rule):
        parts.append(("constraint", rule.constraint))
    out = []
    for part, node in parts:
        for where, clashes in _tautologies(node, part) if node is not None else ():
            reason, paths = _summary(clashes)
            kind = None if part == "when" else getattr(rule, "type", None)
            consequence = _ALWAYS_CONSEQUENCE.get((part, kind), "")
            message = (f"The {where} of {rule.id}" if where == part else f"Part {where} of {rule.id}")
            message += f" holds for every request ({reason})"
            if where == part and consequence:
                message += f", {consequence}"
            out.append(PolicyWarning("always-true", rule.id, message + ".", paths))
    return out


def _tautologies(node: Any, where: str) -> list[tuple[str, list[_Clash]]]:
    """The outermost parts of ``node`` that always hold, each with where it is."""
    clashes = _unsatisfiable(node, positive=False)
    if clashes is not None:
        return [(where, clashes)]
    found = []
    key = "and" if isinstance(node, AllOf) else "or" if isinstance(node, AnyOf) else "not"
    for i, child in enumerate(_children(node)):
        found += _tautologies(child, f"{where}.{key}" + (f"[{i}]" if key != "not" else ""))
    return found


def _same_apart_from_names(a: Rule, b: Rule) -> bool:
    def meaning(rule: Rule) -> dict[str, Any]:
        return {f.name: getattr(rule, f.name) for f in dataclasses.fields(rule)
                if f.name not in ("id", "title", "description")}
    return meaning(a) == meaning(b)


def _may_shadow(a: Rule, b: Rule) -> bool:
    """Whether ``b``'s effect is the same as or stronger than ``a``'s on every subject of ``a``:
    a denial outranks an approval; two approvals are the same only if they ask the same of
    their approvers, which only identical rules surely do."""
    if not _targets(a) <= _targets(b):
        return False
    if b.type in _DENY_TYPES:
        return True
    return a.type == "approval" and _same_apart_from_names(a, b)


def _implies(a: Rule, b: Rule) -> bool:
    """Whenever ``a`` fires for a subject, ``b`` fires for it too."""
    return _unsatisfiable(AllOf((_firing(a), Not(_firing(b))))) is not None


def _shadowed(rules: Sequence[Rule]) -> list[PolicyWarning]:
    out = []
    for i, a in enumerate(rules):
        for j, b in enumerate(rules):
            if i == j or not _may_shadow(a, b) or not _implies(a, b):
                continue
            if j > i and _may_shadow(b, a) and _implies(b, a):
                continue  # equivalent rules: the later one is the one reported
            outranks = " (a denial outranks an approval)" if a.type == "approval" and b.type in _DENY_TYPES else ""
            out.append(PolicyWarning(
                "shadowed", a.id, f"Rule {a.id} never changes a decision: whenever it fires, {b.id} "
                f"({b.type}) fires for the same subject{outranks}.",
                tuple(dict.fromkeys(_paths(_firing(a)))), by=b.id))
            break
    return out


def _requires_what_always_holds(rule_id: str, policy: Policy) -> bool:
    """A requirement whose constraint always holds never fires; the always-true warning says why."""
    rule = next((r for r in policy.rules if r.id == rule_id), None)
    return (rule is not None and rule.type == "requirement"
            and _unsatisfiable(rule.constraint, positive=False) is not None)


def analyse(policy: Policy) -> list[PolicyWarning]:
    """Every warning about ``policy``, rule by rule in the file's order: those that can never
    fire (or duties never due), constraints that always hold, and rules shadowed by another."""
    everything: list[Rule | Duty] = [*policy.rules, *policy.duties]
    silent = [w for w in map(_never_fires, everything) if w is not None]
    quiet = {w.rule for w in silent}
    never = [w for w in silent if not _requires_what_always_holds(w.rule, policy)]
    always = [w for r in everything for w in _always_true(r)]
    shadowed = _shadowed([r for r in policy.rules if r.id not in quiet])
    order = {r: i for i, r in enumerate(policy.rule_ids())}
    kinds = {"never-fires": 0, "always-true": 1, "shadowed": 2}
    return sorted(never + always + shadowed, key=lambda w: (order.get(w.rule, 0), kinds[w.kind]))
