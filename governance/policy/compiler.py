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
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any, Callable, Iterable, Mapping

from ..errors import PolicyError
from . import facts as F
from .decision import ALLOW, DENY, NEEDS_APPROVAL, Decision, DutyDue, Evidence, Finding, Inputs, PolicyRef, frozen
from .document import AllOf, AnyOf, Constraint, Count, Duty, Leaf, Not, Policy, Quantified, Rule
from .fastpath import generate
from .inputs import DIGEST_SCHEME, inputs_digest
from .loader import load_policy
from .operators import OPERATORS, SET_RIGHT, overlap
from .paths import Binding, Declarations, binding_of, getter

Facts = Mapping[str, Any]
Subject = Mapping[str, Any] | None
Test = Callable[[Facts, Subject], bool]
Getter = Callable[[Facts, Subject], Any]

WITHHELD = "(withheld: derived from the prompt)"


#: A quantifier's evidence names at most this many items (the count says how many there were).
MAX_ITEM_EVIDENCE = 10
Bound = Mapping[str, Binding]


class Node:
    """A compiled constraint: ``test`` for the fast path, ``explain`` for evidence."""

    test: Test

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        raise NotImplementedError


class LeafNode(Node):
    def __init__(self, leaf: Leaf, bound: Bound) -> None:
        self.leaf = leaf
        op = OPERATORS[leaf.operator]
        self.left = getter(leaf.left, bound)
        self.right_ref = getter(leaf.right_ref, bound) if leaf.right_ref else None
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


class QuantNode(Node):
    """``every`` / ``any`` / ``none`` item of a collection satisfies the body. Each item is
    evaluated with its name added to the facts, so the body's paths read it like a root."""

    def __init__(self, q: Quantified, bound: Bound) -> None:
        self.q = q
        self.binding = bound[q.var]
        self.items = _items(q.over, bound)
        self.body = compile_constraint(q.body, bound)
        items, body, var = self.items, self.body.test, q.var
        if q.quantifier == "every":
            self.test = lambda f, s: all(body({**f, var: i}, s) for i in items(f, s))
        elif q.quantifier == "any":
            self.test = lambda f, s: any(body({**f, var: i}, s) for i in items(f, s))
        else:
            self.test = lambda f, s: not any(body({**f, var: i}, s) for i in items(f, s))

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        q = self.q
        items = list(self.items(f, s))
        held = [self.body.test({**f, q.var: i}, s) for i in items]
        # the items that decided it: for every and any, those that went the way the whole
        # did; for none, those that went the other way
        shown = outcome if q.quantifier != "none" else not outcome
        required = {"every": len(items), "any": 1, "none": 0}[q.quantifier]
        evidence = [Evidence(q.over, q.quantifier, sum(held), required, outcome)]
        deciding = [i for i, h in zip(items, held, strict=True) if h is shown]
        return evidence + _item_evidence(self.body, self.binding, q.var, deciding, f, s, shown)


class CountNode(Node):
    """How many items of a collection satisfy ``where``, compared with a number."""

    def __init__(self, c: Count, bound: Bound) -> None:
        self.c = c
        self.binding = bound[c.var]
        self.items = _items(c.over, bound)
        self.where = compile_constraint(c.where, bound) if c.where is not None else None
        op, right, items, var = OPERATORS[c.operator].test, c.right, self.items, c.var
        where = self.where.test if self.where is not None else None
        if where is None:
            self.test = lambda f, s: op(len(list(items(f, s))), right)
        else:
            self.test = lambda f, s: op(sum(1 for i in items(f, s) if where({**f, var: i}, s)), right)

    def matching(self, f: Facts, s: Subject) -> list[Any]:
        items = list(self.items(f, s))
        if self.where is None:
            return items
        return [i for i in items if self.where.test({**f, self.c.var: i}, s)]

    def explain(self, f: Facts, s: Subject, outcome: bool) -> list[Evidence]:
        c = self.c
        matching = self.matching(f, s)
        evidence = [Evidence(c.over, f"count {c.operator}", len(matching), c.right, outcome)]
        if self.where is None:
            return evidence
        return evidence + _item_evidence(self.where, self.binding, c.var, matching, f, s, True)


def _items(path: str, bound: Bound) -> Callable[[Facts, Subject], Iterable[Any]]:
    if path in F.COLLECTIONS:
        return lambda f, s: f.get(path) or ()
    read = getter(path, bound)
    return lambda f, s: read(f, s) or ()


def _label(item: Any, binding: Binding) -> str:
    if binding.shape == "subject":
        return str(item.get("subject") or "?")
    if binding.shape == "record":
        return f"{binding.of}:{item.get('id')}"
    return str(item)


def _item_evidence(body: Node, binding: Binding, var: str, items: list[Any], f: Facts, s: Subject,
                   outcome: bool) -> list[Evidence]:
    """The body's evidence for each item, labelled with the item, for the first
    ``MAX_ITEM_EVIDENCE`` items."""
    out = []
    for item in items[:MAX_ITEM_EVIDENCE]:
        label = _label(item, binding)
        for e in body.explain({**f, var: item}, s, outcome):
            out.append(replace(e, item=label if e.item is None else f"{label} \u203a {e.item}"))
    return out


def compile_constraint(c: Constraint, bound: Bound | None = None) -> Node:
    bound = bound or {}
    if isinstance(c, Leaf):
        return LeafNode(c, bound)
    if isinstance(c, AllOf):
        return AllNode([compile_constraint(i, bound) for i in c.items])
    if isinstance(c, AnyOf):
        return AnyNode([compile_constraint(i, bound) for i in c.items])
    if isinstance(c, Not):
        return NotNode(compile_constraint(c.item, bound))
    if isinstance(c, (Quantified, Count)):
        inner = {**bound, c.var: binding_of(c.over, bound)}  # checked by the loader
        return QuantNode(c, inner) if isinstance(c, Quantified) else CountNode(c, inner)
    raise PolicyError(f"unknown constraint {type(c).__name__}")


def _subjects(targets: tuple[str, ...]) -> Callable[[Facts], Iterable[Subject]]:
    """Each subject of the targets, in Slate's target order (the order the fast path fires in)."""
    def one(target: str) -> Callable[[Facts], Iterable[Subject]]:
        key = F.TARGETS[target]
        if key is None:
            only = (None,)
            return lambda f: only
        return lambda f: f.get(key) or ()
    parts = [one(t) for t in targets]
    if len(parts) == 1:
        return parts[0]
    return lambda f: chain.from_iterable(p(f) for p in parts)


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
        return Finding(r.id, r.type, r.title, _subject_name(s), tuple(self.node.explain(f, s, self.fires_on)),
                       r.approvers)


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
    return CompiledRule(rule, _subjects(rule.targets),
                        compile_constraint(rule.when).test if rule.when else None,
                        compile_constraint(rule.constraint), rule.type != "requirement")


def _compile_duty(duty: Duty) -> CompiledDuty:
    if duty.credit_from:
        text = getter(duty.credit_from, {})
    else:
        credit = duty.credit
        text = lambda f, s: credit  # noqa: E731
    return CompiledDuty(duty, _subjects(duty.targets),
                        compile_constraint(duty.when).test if duty.when else None, text)


#: the subject name an output decision's facts give the generated image (``outputs[0].subject``)
OUTPUT_SUBJECT = "output"
#: the subject name a training decision's facts give the run asked for (``trainings[0].subject``)
TRAINING_SUBJECT = "training"


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
        #: the ids of the rules and duties about the generated image (``evaluate_output``)
        self._about_output = frozenset([r.id for r in policy.rules if "output" in r.targets]
                                       + [d.id for d in policy.duties if "output" in d.targets])
        self._duties = [_compile_duty(d) for d in policy.duties]
        self._check = generate(
            [(r.targets, r.when, r.constraint, r.type != "requirement") for r in policy.rules],
            [(d.targets, d.when) for d in policy.duties], lambda c: compile_constraint(c).test)

    def evaluate(self, facts: Facts, *, interpreted: bool = False) -> Decision:
        violations, approvals, duties = self.judge(facts, interpreted=interpreted)
        outcome = DENY if violations else NEEDS_APPROVAL if approvals else ALLOW
        return Decision(outcome, self.ref, violations, approvals, duties, inputs_of(facts))

    def evaluate_output(self, facts: Facts, *, interpreted: bool = False) -> Decision:
        """The decision on a generated image: only the rules and duties about ``output`` count.

        ``facts`` are the request's (as decided) plus ``outputs``; the request's own rules
        were judged when it was decided (and approved where they asked for it), so judging
        them again here would ask for the same sign-offs twice.
        """
        # what fired on the image itself: a rule about the request *and* the output fired on the
        # request when it was decided, and is not asked for again
        return self._evaluate_subject(facts, OUTPUT_SUBJECT, interpreted)

    def evaluate_training(self, facts: Facts, *, interpreted: bool = False) -> Decision:
        """The decision on a training run: only the rules and duties about ``training`` count.

        A training run is no generation request: the request's rules (its use, prompt,
        performers) have nothing to judge in it, and the training rules have nothing to
        judge in a generation request (whose facts carry no ``trainings``).
        """
        return self._evaluate_subject(facts, TRAINING_SUBJECT, interpreted)

    def _evaluate_subject(self, facts: Facts, subject: str, interpreted: bool) -> Decision:
        """The decision made of what fired on ``subject`` alone."""
        violations, approvals, duties = self.judge(facts, interpreted=interpreted)
        violations = tuple(v for v in violations if v.subject == subject)
        approvals = tuple(a for a in approvals if a.subject == subject)
        duties = tuple(d for d in duties if d.subject == subject)
        outcome = DENY if violations else NEEDS_APPROVAL if approvals else ALLOW
        return Decision(outcome, self.ref, violations, approvals, duties, inputs_of(facts))

    @property
    def has_output_rules(self) -> bool:
        """Whether this policy judges generated images at all (a rule about ``output``)."""
        return any(r.id in self._about_output for r in self.policy.rules)

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
    """The inputs digest (current scheme, see ``inputs``) and the registry records used."""
    used = F.records_used(facts)

    def pairs(rows: list[dict[str, Any]]) -> tuple[tuple[str, Any], ...]:
        return tuple((r["id"], r["version"]) for r in rows)
    return Inputs(inputs_digest(facts), pairs(used["consents"]), pairs(used["licences"]), pairs(used["models"]),
                  DIGEST_SCHEME)


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


def compile_bytes(data: bytes, source: str = "policy", catalogue: Declarations | None = None) -> CompiledPolicy:
    """Load, validate and compile a policy file's bytes under the studio's catalogue; cached
    by the SHA-256 of both (a policy valid under one catalogue may not be under another)."""
    from ..canonical import sha256_hex
    key = f"{sha256_hex(data)}+{getattr(catalogue, 'sha256', '')}"
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    compiled = compile_policy(load_policy(data, source, catalogue))
    _CACHE[key] = compiled
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled


def evaluate(policy: Policy | CompiledPolicy, facts: Facts) -> Decision:
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    return compiled.evaluate(facts)
