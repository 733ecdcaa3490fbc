"""Compiling a policy once into closures, and evaluating requests with them.

A policy version is compiled once (cached by the SHA-256 of its file bytes): each
constraint becomes a small function of ``(facts, subject)``, list right operands become
frozensets, paths become direct lookups. The per-request path then runs only those
functions; evidence is worked out afterwards, and only for rules that fired, by walking
the same compiled tree again.

Evaluation is a pure function of the facts and the policy: no clock, no database, no
randomness, so the same inputs always give the same decision.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ..canonical import digest
from ..errors import PolicyError
from . import facts as F
from .decision import ALLOW, DENY, NEEDS_APPROVAL, Decision, DutyDue, Evidence, Finding, Inputs, PolicyRef, frozen
from .document import AllOf, AnyOf, Constraint, Duty, Leaf, Not, Policy, Rule
from .fastpath import generate
from .loader import load_policy
from .operators import OPERATORS, SET_RIGHT, overlap

Facts = Mapping[str, Any]
Subject = Mapping[str, Any] | None
Test = Callable[[Facts, Subject], bool]
Getter = Callable[[Facts, Subject], Any]

WITHHELD = "(withheld: derived from the prompt)"


def _getter(path: str) -> Getter:
    root, _, field = path.partition(".")
    if root in F.GLOBAL_ROOTS:
        if not field:
            return lambda f, s: f.get(root)

        def from_facts(f: Facts, s: Subject) -> Any:
            record = f.get(root)
            return None if record is None else record.get(field)
        return from_facts
    if root == "performer":  # the performer's own flags live on the subject itself
        return lambda f, s: s.get(field)  # type: ignore[union-attr]
    if not field:
        return lambda f, s: s.get(root)  # type: ignore[union-attr]

    def from_subject(f: Facts, s: Subject) -> Any:
        record = s.get(root)  # type: ignore[union-attr]
        return None if record is None else record.get(field)
    return from_subject


class Node:
    """A compiled constraint: ``test`` for the fast path, ``explain`` for evidence."""

    test: Test

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        raise NotImplementedError


class LeafNode(Node):
    def __init__(self, leaf: Leaf) -> None:
        self.leaf = leaf
        op = OPERATORS[leaf.operator]
        self.left = _getter(leaf.left)
        self.right_ref = _getter(leaf.right_ref) if leaf.right_ref else None
        right: Any = leaf.right  # compared as a set, a list or a scalar, as the operator needs
        if leaf.operator in SET_RIGHT and right is not None:
            right = frozenset(right)
        elif isinstance(right, tuple):
            right = list(right)  # facts hold lists: eq on a list compares with a list
        self.right = right
        self.test = self._compile(op.test)

    def _compile(self, op: Callable[[Any, Any], bool]) -> Test:
        left, right, ref, leaf = self.left, self.right, self.right_ref, self.leaf
        as_set = leaf.operator in SET_RIGHT
        if ref is None:
            def test(f: Facts, s: Subject) -> bool:
                try:
                    return op(left(f, s), right)
                except (TypeError, AttributeError):
                    raise _bad_fact(leaf, left(f, s)) from None
            return test

        def test_ref(f: Facts, s: Subject) -> bool:
            required = ref(f, s)
            if required is None:
                return False
            try:
                return op(left(f, s), frozenset(required) if as_set else required)
            except (TypeError, AttributeError):
                raise _bad_fact(leaf, left(f, s)) from None
        return test_ref

    def required(self, f: Facts, s: Subject) -> Any:
        if self.right_ref is None:
            return self.leaf.right
        return self.right_ref(f, s)

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        found = self.left(f, s)
        required = self.required(f, s)
        if self.leaf.left in F.SENSITIVE:
            op = OPERATORS[self.leaf.operator]
            found = overlap(found, required) if op.reveals_overlap else WITHHELD
        return [Evidence(self.leaf.left, self.leaf.operator, frozen(found), frozen(required), outcome,
                         self.leaf.right_ref)]


def _bad_fact(leaf: Leaf, value: Any) -> PolicyError:
    return PolicyError(f"the fact {leaf.left} holds a {type(value).__name__}, which "
                       f"'{leaf.operator}' cannot compare",
                       hint="the facts do not have the shape the policy expects (see governance/policy/facts.py)")


class AllNode(Node):
    def __init__(self, items: list[Node]) -> None:
        self.items = items
        tests = tuple(n.test for n in items)
        if len(tests) == 2:
            a, b = tests
            self.test = lambda f, s: a(f, s) and b(f, s)
        else:
            def test(f: Facts, s: Subject) -> bool:
                for t in tests:
                    if not t(f, s):
                        return False
                return True
            self.test = test

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        # true: every part counts; false: only the parts that failed
        return [e for n in self.items if outcome or not n.test(f, s) for e in n.explain(f, s, outcome)]


class AnyNode(Node):
    def __init__(self, items: list[Node]) -> None:
        self.items = items
        tests = tuple(n.test for n in items)
        if len(tests) == 2:
            a, b = tests
            self.test = lambda f, s: a(f, s) or b(f, s)
        else:
            def test(f: Facts, s: Subject) -> bool:
                for t in tests:
                    if t(f, s):
                        return True
                return False
            self.test = test

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        # false: every alternative failed; true: only the alternatives that held
        return [e for n in self.items if not outcome or n.test(f, s) for e in n.explain(f, s, outcome)]


class NotNode(Node):
    def __init__(self, item: Node) -> None:
        self.item = item
        inner = item.test
        self.test = lambda f, s: not inner(f, s)

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        return self.item.explain(f, s, not outcome)


def compile_constraint(c: Constraint) -> Node:
    if isinstance(c, Leaf):
        return LeafNode(c)
    if isinstance(c, AllOf):
        return AllNode([compile_constraint(i) for i in c.items])
    if isinstance(c, AnyOf):
        return AnyNode([compile_constraint(i) for i in c.items])
    if isinstance(c, Not):
        return NotNode(compile_constraint(c.item))
    raise PolicyError(f"unknown constraint {type(c).__name__}")


def _subjects(target: str) -> Callable[[Facts], Iterable[Subject]]:
    key = F.TARGETS[target]
    if key is None:
        only = (None,)
        return lambda f: only
    return lambda f: f.get(key) or ()


def _subject_name(s: Subject) -> str:
    return "request" if s is None else str(s.get("subject") or "?")


@dataclass
class CompiledRule:
    rule: Rule
    subjects: Callable[[Facts], Iterable[Subject]]
    when: Test | None
    node: Node
    #: a requirement fires when its constraint fails; a prohibition or approval when it holds
    fires_on: bool

    def finding(self, f: Facts, s: Subject) -> Finding:
        r = self.rule
        return Finding(r.id, r.type, r.title, _subject_name(s), tuple(self.node.explain(f, s, self.fires_on)))


@dataclass
class CompiledDuty:
    duty: Duty
    subjects: Callable[[Facts], Iterable[Subject]]
    when: Test | None
    text: Getter

    def due(self, f: Facts, s: Subject) -> DutyDue:
        d = self.duty
        return DutyDue(d.id, d.action, d.title, _subject_name(s), self.text(f, s))


def _compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(rule, _subjects(rule.target),
                        compile_constraint(rule.when).test if rule.when else None,
                        compile_constraint(rule.constraint), rule.type != "requirement")


def _compile_duty(duty: Duty) -> CompiledDuty:
    if duty.credit_from:
        text = _getter(duty.credit_from)
    else:
        credit = duty.credit
        text = lambda f, s: credit  # noqa: E731
    return CompiledDuty(duty, _subjects(duty.target),
                        compile_constraint(duty.when).test if duty.when else None, text)


class CompiledPolicy:
    """One policy version, ready to evaluate many requests.

    ``evaluate`` finds which rules fire with the generated fast path (``fastpath``) and
    explains those with the closures; ``interpreted=True`` uses the closures throughout,
    which is the reference the fast path is tested against.
    """

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.ref = PolicyRef(policy.uid, policy.version, policy.sha256)
        self._rules = [_compile_rule(r) for r in policy.rules]
        self._duties = [_compile_duty(d) for d in policy.duties]
        self._check = generate(
            [(r.target, r.when, r.constraint, r.type != "requirement") for r in policy.rules],
            [(d.target, d.when) for d in policy.duties])

    def evaluate(self, facts: Facts, *, interpreted: bool = False) -> Decision:
        violations, approvals, duties = self.judge(facts, interpreted=interpreted)
        outcome = DENY if violations else NEEDS_APPROVAL if approvals else ALLOW
        return Decision(outcome, self.ref, violations, approvals, duties, inputs_of(facts))

    def judge(self, facts: Facts, *, interpreted: bool = False) -> tuple[
            tuple[Finding, ...], tuple[Finding, ...], tuple[DutyDue, ...]]:
        """Violations, approvals and duties with evidence: a decision without its input digest."""
        if interpreted:
            fired, due = self._interpret(facts)
        else:
            try:
                fired, due = self._check(facts)
            except (TypeError, AttributeError):
                fired, due = self._interpret(facts)  # raises a PolicyError naming the fact
        findings = [self._rules[i].finding(facts, s) for i, s in fired]
        return (tuple(x for x in findings if x.type != "approval"),
                tuple(x for x in findings if x.type == "approval"),
                tuple(self._duties[j].due(facts, s) for j, s in due))

    def _interpret(self, f: Facts) -> tuple[list[tuple[int, Subject]], list[tuple[int, Subject]]]:
        fired = [(i, s) for i, cr in enumerate(self._rules) for s in cr.subjects(f)
                 if (cr.when is None or cr.when(f, s)) and cr.node.test(f, s) is cr.fires_on]
        due = [(j, s) for j, d in enumerate(self._duties) for s in d.subjects(f)
               if d.when is None or d.when(f, s)]
        return fired, due


def inputs_of(facts: Facts) -> Inputs:
    used = F.records_used(facts)

    def pairs(rows: list[dict[str, Any]]) -> tuple[tuple[str, Any], ...]:
        return tuple((r["id"], r["version"]) for r in rows)
    return Inputs(digest(facts), pairs(used["consents"]), pairs(used["licences"]), pairs(used["models"]))


_CACHE: OrderedDict[str, CompiledPolicy] = OrderedDict()
_CACHE_SIZE = 32


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile a loaded policy, reusing the compiled form of identical file bytes."""
    cached = _CACHE.get(policy.sha256)
    if cached is not None:
        _CACHE.move_to_end(policy.sha256)
        return cached
    compiled = CompiledPolicy(policy)
    _CACHE[policy.sha256] = compiled
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def compile_bytes(data: bytes, source: str = "policy") -> CompiledPolicy:
    """Load, validate and compile a policy file's bytes; cached by their SHA-256."""
    from ..canonical import sha256_hex
    cached = _CACHE.get(sha256_hex(data))
    if cached is not None:
        return cached
    return compile_policy(load_policy(data, source))


def evaluate(policy: Policy | CompiledPolicy, facts: Facts) -> Decision:
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    return compiled.evaluate(facts)
