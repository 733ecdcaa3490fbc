"""What a path in a rule means: which facts it reads, what kind of value it holds.

A path is dotted: a root, then fields, then (inside a record of custom ``attributes``)
an attribute, e.g. ``licence.attributes.projects``. Roots are the request-wide facts
(``request``, ``requester``, ``model``, ``production``), the records of the rule's
subject (``asset``, ``licence``, ``person``, ``consent``, ``performer``), and the names a
quantifier binds (``every: {over: performers, as: p, ...}`` makes ``p.consent.uses``).

The loader resolves every path once, against a ``Scope``; the compiler and the fast path
then only read what was resolved, so no path reaches evaluation unchecked. One module
says this for all three, so the language cannot mean one thing to the loader and another
to the evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from . import facts as F

Facts = Mapping[str, Any]
Subject = Mapping[str, Any] | None
Getter = Callable[[Facts, Subject], Any]

#: What a catalogue attribute's type reads as in a rule.
ATTRIBUTE_KIND = {"string": "string", "enum": "string", "number": "number", "bool": "bool",
                  "date": "date", "list": "list", "enumList": "list"}


class AttributeDeclaration(Protocol):
    """What the loader needs of one attribute the studio's catalogue declares."""

    @property
    def type(self) -> str: ...

    @property
    def values(self) -> tuple[str, ...]: ...


class Declarations(Protocol):
    """The studio's fact catalogue, as far as paths are concerned."""

    def attribute(self, kind: str, name: str) -> AttributeDeclaration | None: ...


class NoDeclarations:
    """A studio without a catalogue: no custom attributes."""

    sha256 = ""

    def attribute(self, kind: str, name: str) -> AttributeDeclaration | None:
        return None


@dataclass(frozen=True)
class Binding:
    """A name a quantifier binds: to a subject of a target (``over: performers``), to a
    registry record (``over: performer.consents``) or to a plain value (``over: request.people``)."""

    #: "subject", "record" or "value"
    shape: str
    #: the target (subject), the facts root the record is (record), or the value's kind (value)
    of: str


@dataclass(frozen=True)
class Scope:
    """What a path may start with at one place in a rule."""

    roots: tuple[str, ...]
    bound: Mapping[str, Binding] = field(default_factory=dict)
    #: what the rule is about, in words ("the request", "each performer")
    about: str = "this rule"
    #: the rule's targets
    targets: tuple[str, ...] = ("request",)

    def binding(self, name: str, binding: Binding) -> Scope:
        return Scope(self.roots, {**self.bound, name: binding}, self.about, self.targets)


TARGET_WORDS = {"request": "the request", "reference": "each reference asset",
                "training_asset": "each training-set asset", "performer": "each performer",
                "output": "the generated image", "training": "the training run"}


def scope_of(targets: tuple[str, ...]) -> Scope:
    """The roots every one of a rule's targets offers."""
    roots = [r for r in F.ROOTS[targets[0]] if all(r in F.ROOTS[t] for t in targets[1:])]
    return Scope(tuple(roots), about=" and ".join(TARGET_WORDS[t] for t in targets), targets=targets)


@dataclass(frozen=True)
class Resolved:
    """A checked path: its kind, and for an enum attribute the values it may take."""

    path: str
    kind: str
    values: tuple[str, ...] = ()


class PathProblem(ValueError):
    """A path that names nothing the facts hold; the message says what would."""


def resolve(path: str, scope: Scope, catalogue: Declarations) -> Resolved:
    """The kind of value ``path`` reads in ``scope``, or ``PathProblem`` saying why not."""
    parts = path.split(".")
    head = parts[0]
    if head in scope.bound:
        binding = scope.bound[head]
        if binding.shape == "value":
            if len(parts) > 1:
                raise PathProblem(f"'{head}' is one {binding.of} value of a list; it has no fields")
            return Resolved(path, binding.of)
        if binding.shape == "record":
            return _fields(path, binding.of, parts[1:], catalogue)
        if len(parts) == 1:
            raise PathProblem(f"'{head}' is one subject; name what to read, e.g. "
                              f"{head}.{F.SUBJECT_ROOTS[binding.of][0]}")
        inner = parts[1]
        if inner not in F.SUBJECT_ROOTS[binding.of]:
            raise PathProblem(f"'{path}': each item of {F.TARGETS[binding.of]} has "
                              f"{', '.join(F.SUBJECT_ROOTS[binding.of])}")
        return _fields(path, inner, parts[2:], catalogue)
    if head not in F.FIELDS:
        names = list(F.FIELDS) + sorted(scope.bound)
        raise PathProblem(f"'{path}' is outside the facts a policy may read; paths start with one of: "
                          f"{', '.join(names)}")
    if head not in scope.roots:
        raise PathProblem(f"'{path}' is not available to a rule about {scope.about}; "
                          "use a path starting with one of: "
                          f"{', '.join(list(scope.roots) + sorted(scope.bound))}")
    return _fields(path, head, parts[1:], catalogue)


def _fields(path: str, root: str, rest: list[str], catalogue: Declarations) -> Resolved:
    if not rest:
        return Resolved(path, "record")
    name = rest[0]
    if name not in F.FIELDS[root]:
        raise PathProblem(f"'{path}' is not a known fact; {root} has: {', '.join(F.FIELDS[root])}")
    kind = F.FIELDS[root][name]
    if kind == "record" and name == "attributes" and len(rest) > 1:
        record_kind = F.ATTRIBUTE_KINDS[root]
        declared = catalogue.attribute(record_kind, rest[1])
        if declared is None:
            raise PathProblem(f"'{path}': the catalogue declares no {record_kind} attribute "
                              f"'{rest[1]}'; legal declares it in the catalogue first")
        if len(rest) > 2:
            raise PathProblem(f"'{path}': {rest[1]} is a {declared.type}; it has no fields")
        return Resolved(path, ATTRIBUTE_KIND[declared.type], tuple(declared.values))
    if len(rest) > 1:
        raise PathProblem(f"'{path}': {root}.{name} is a {kind}; it has no fields")
    return Resolved(path, kind)


def over(path: str, scope: Scope, catalogue: Declarations) -> Binding:
    """What each item of a quantifier's ``over`` is: a target's subjects (``performers``), a
    list of records (``performer.consents``), or a list of values (``request.people``)."""
    if path in F.COLLECTIONS:
        return Binding("subject", F.COLLECTIONS[path])
    resolved = resolve(path, scope, catalogue)
    if resolved.kind not in ("list", "records"):
        raise PathProblem(f"'{path}' is a {resolved.kind}, not a list to range over; use one of "
                          f"{', '.join(F.COLLECTIONS)} or a list-valued fact")
    if path in F.SENSITIVE:
        raise PathProblem(f"'{path}' comes from the prompt; its words cannot be ranged over "
                          "(compare it with hasAnyOf or hasNoneOf)")
    return binding_of(path, scope.bound)


def binding_of(path: str, bound: Mapping[str, Binding]) -> Binding:
    """What each item of an already checked ``over`` path is."""
    if path in F.COLLECTIONS:
        return Binding("subject", F.COLLECTIONS[path])
    parts = path.split(".")
    binding = bound.get(parts[0])
    root = parts[1] if binding is not None and binding.shape == "subject" else \
        binding.of if binding is not None and binding.shape == "record" else parts[0]
    record = F.RECORD_LISTS.get((root, parts[-1]))
    return Binding("record", record) if record else Binding("value", "string")


def getter(path: str, bound: Mapping[str, Binding]) -> Getter:
    """A function of (facts, subject) reading ``path``; names bound by quantifiers are read
    from the facts (each item is evaluated with its name added to them)."""
    parts = path.split(".")
    head = parts[0]
    binding = bound.get(head)
    if binding is not None:
        rest = parts[1:]
        if binding.shape == "subject" and rest and rest[0] == "performer":
            rest = rest[1:]  # a performer's own flags live on the subject itself

        def base(f: Facts, s: Subject) -> Any:
            return f.get(head)
    elif head in F.GLOBAL_ROOTS:
        rest = parts[1:]

        def base(f: Facts, s: Subject) -> Any:
            return f.get(head)
    elif head == "performer":
        rest = parts[1:]

        def base(f: Facts, s: Subject) -> Any:
            return s
    else:
        rest = parts[1:]

        def base(f: Facts, s: Subject) -> Any:
            return s.get(head)  # type: ignore[union-attr]
    return _chain(base, tuple(rest))


def _chain(base: Getter, rest: tuple[str, ...]) -> Getter:
    if not rest:
        return base
    if len(rest) == 1:
        (name,) = rest

        def one(f: Facts, s: Subject) -> Any:
            record = base(f, s)
            return None if record is None else record.get(name)
        return one

    def many(f: Facts, s: Subject) -> Any:
        value = base(f, s)
        for name in rest:
            if value is None:
                return None
            value = value.get(name)
        return value
    return many
