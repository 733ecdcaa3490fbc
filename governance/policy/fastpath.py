"""The fast path: one Python function per policy version that finds which rules fire.

The closures in ``compiler`` are the reference evaluator and the source of evidence; this
module turns the same validated rules into a single function with one loop per target,
each path a local lookup and the common operators inline, so a decision costs about what
hand-written checks would. It only answers *which rule fired for which subject*; the
evidence for those is then worked out by the closures.

Why generating source is safe here: the policy has already passed the schema and the
loader's checks, so every path is a key of ``facts.FIELDS`` and every operator a key of
``operators.OPERATORS``. No policy text is placed in the source: right operands are bound
as constants (``C0``, ``C1`` ...) in the function's namespace, and field names are
emitted with ``repr`` after being checked against the catalogue again below.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

from . import facts as F
from .document import AllOf, AnyOf, Constraint, Count, Leaf, Not, Quantified
from .operators import OPERATORS, SET_RIGHT

#: the ordering operators as Python's comparisons: two strings (dates) compare inline, which
#: is what ``operators._ordered`` does for them; anything else goes through the operator
_ORDER_SYMBOL = {"lt": "<", "lteq": "<=", "gt": ">", "gteq": ">=", "before": "<", "after": ">"}

Fired = list[tuple[int, Any]]
Check = Callable[[Mapping[str, Any]], tuple[Fired, Fired]]
#: compiles a quantifier (``every``, ``any``, ``none``, ``count``) to the reference closure,
#: which the generated function calls as ``Cn(f, s)``
Closure = Callable[[Constraint], Callable[[Mapping[str, Any], Any], bool]]
_EMPTY: Mapping[str, Any] = {}
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _with_ref(op: Callable[[Any, Any], bool], left: Any, right: Any, as_set: bool) -> bool:
    return right is not None and op(left, frozenset(right) if as_set else right)


class _Source:
    """Builds the function's text and the constants it refers to."""

    def __init__(self, closure: Closure) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"_EMPTY": _EMPTY, "_with_ref": _with_ref}
        self.used: set[tuple[str, ...]] = set()
        self.closure = closure

    def const(self, value: Any) -> str:
        name = f"C{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def op(self, name: str) -> str:
        key = f"OP_{name}"
        self.namespace[key] = OPERATORS[name].test
        return key

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _path(src: _Source, path: str) -> str:
    """A path as the name of a local the generated function fills once per request or subject."""
    parts = tuple(path.split("."))
    root = parts[0]
    if root not in F.FIELDS or (len(parts) > 1 and parts[1] not in F.FIELDS[root]) \
            or not all(_NAME.match(p) for p in parts):
        raise ValueError(f"unchecked path {path!r}")  # the loader guarantees this never happens
    if len(parts) == 1:
        return f"r_{root}"
    src.used.add(parts)
    return "p_" + "__".join(parts)


def _fetch(parts: tuple[str, ...]) -> str:
    root, fields = parts[0], parts[1:]
    # the performer's own flags live on the subject itself
    value = f"s.get({fields[0]!r})" if root == "performer" else f"v_{root}.get({fields[0]!r})"
    for name in fields[1:]:
        value = f"({value} or _EMPTY).get({name!r})"
    return f"p_{'__'.join(parts)} = {value}"


def _ordered(src: _Source, name: str, left: str, right: str, right_is_str: bool) -> str:
    """An ordering comparison: inline for two strings (dates, the common case), else the operator."""
    both = f"{left}.__class__ is str" + ("" if right_is_str else f" and {right}.__class__ is str")
    return f"(({left} {_ORDER_SYMBOL[name]} {right}) if {both} else {src.op(name)}({left}, {right}))"


def _leaf(src: _Source, leaf: Leaf) -> str:
    left = _path(src, leaf.left)
    name = leaf.operator
    if leaf.right_ref is not None:
        right_name = _path(src, leaf.right_ref)
        if name in ("hasPart", "contains"):
            return f"({right_name} is not None and {right_name} in ({left} or ()))"
        if name in SET_RIGHT:
            return f"_with_ref({src.op(name)}, {left}, {right_name}, True)"
        if name in _ORDER_SYMBOL:
            return f"({right_name} is not None and {_ordered(src, name, left, right_name, False)})"
        return f"({right_name} is not None and {src.op(name)}({left}, {right_name}))"
    right: Any = leaf.right  # written as a set, a list or a scalar, as the operator needs
    if name in SET_RIGHT:
        right = frozenset(right)
    elif isinstance(right, tuple):
        right = list(right)
    if name == "exists":
        return f"({left} is not None)" if right else f"({left} is None)"
    if name == "eq" and right is not None and not isinstance(right, list):
        return f"({left} == {src.const(right)})"
    if name in ("hasPart", "contains") and right is not None:
        return f"({src.const(right)} in ({left} or ()))"
    if name == "isAnyOf":
        return f"({left} in {src.const(right)})"
    if name in _ORDER_SYMBOL and type(right) is str:
        return _ordered(src, name, left, src.const(right), True)
    return f"{src.op(name)}({left}, {src.const(right)})"


def _expr(src: _Source, c: Constraint) -> str:
    if isinstance(c, Leaf):
        return _leaf(src, c)
    if isinstance(c, AllOf):
        return "(" + " and ".join(_expr(src, i) for i in c.items) + ")"
    if isinstance(c, AnyOf):
        return "(" + " or ".join(_expr(src, i) for i in c.items) + ")"
    if isinstance(c, Not):
        return f"(not {_expr(src, c.item)})"
    if isinstance(c, (Quantified, Count)):
        return f"{src.const(src.closure(c))}(f, s)"
    raise ValueError(f"unknown constraint {type(c).__name__}")


def _roots_of(target: str) -> list[str]:
    return [r for r in F.ROOTS[target] if r not in F.GLOBAL_ROOTS and r != "performer"]


def generate(rules: Sequence[tuple[tuple[str, ...], Constraint | None, Constraint, bool]],
             duties: Sequence[tuple[tuple[str, ...], Constraint | None]], closure: Closure) -> Check:
    """``rules``: (targets, when, constraint, fires_on) in policy order; ``duties``: (targets,
    when); ``closure`` compiles a quantifier to the reference evaluator's test.

    Returns ``check(facts) -> (fired rules, due duties)``, each a list of (index, subject)
    sorted by index, subjects in target order and, within a target, as the facts list them.
    """
    src = _Source(closure)
    blocks: list[tuple[str, str | None, list[str]]] = []
    for target, key in F.TARGETS.items():
        body: list[str] = []
        for i, (targets, when, constraint, fires_on) in enumerate(rules):
            if target in targets:
                test = _expr(src, constraint)
                cond = test if fires_on else f"not {test}"
                if when is not None:
                    cond = f"{_expr(src, when)} and {cond}"
                body.append(f"if {cond}: fire(({i}, s))")
        for j, (targets, when) in enumerate(duties):
            if target in targets:
                body.append(f"if {_expr(src, when)}: owe(({j}, s))" if when is not None else f"owe(({j}, s))")
        if body:
            blocks.append((target, key, body))
    src.emit(0, "def check(f):")
    src.emit(1, "fired = []; due = []; fire = fired.append; owe = due.append")
    src.emit(1, "s = None")
    for root in F.GLOBAL_ROOTS:
        src.emit(1, f"r_{root} = f.get({root!r}); v_{root} = _EMPTY if r_{root} is None else r_{root}")
    for parts in sorted(src.used):
        if parts[0] in F.GLOBAL_ROOTS:
            src.emit(1, _fetch(parts))
    for target, key, body in blocks:
        depth = 1
        if key is not None:
            src.emit(1, f"for s in f.get({key!r}) or ():")
            depth = 2
            roots = F.ROOTS[target]
            for root in _roots_of(target):
                src.emit(2, f"r_{root} = s.get({root!r}); v_{root} = _EMPTY if r_{root} is None else r_{root}")
            for parts in sorted(src.used):
                if parts[0] in roots and parts[0] not in F.GLOBAL_ROOTS:
                    src.emit(2, _fetch(parts))
        else:
            src.emit(1, "s = None")
        for line in body:
            src.emit(depth, line)
    src.emit(1, "fired.sort(key=_first); due.sort(key=_first)")
    src.emit(1, "return fired, due")
    src.namespace["_first"] = lambda pair: pair[0]
    code = compile("\n".join(src.lines), "<policy fast path>", "exec")
    exec(code, src.namespace)  # noqa: S102 - text built above from checked paths only
    return src.namespace["check"]  # type: ignore[no-any-return]
