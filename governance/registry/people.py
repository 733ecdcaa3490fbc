"""People (performers and other rights holders) and productions.

A person takes part in productions: a producer registers people for their own, legal
links a person to another production (recording a consent for a production does too),
and a producer sees only the people of their productions (see ``scope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..audit.log import record
from ..clock import utcnow
from ..db import get_or_create, transaction, tuples
from ..errors import Conflict, InvalidInput
from ..principal import Principal
from . import attributes as attrs
from . import lookup, scope
from . import vocabulary as vocab
from .tables import Person, PersonProduction, Production


def person_dict(p: Person, by: Principal | None = None, productions: set[str] | None = None) -> dict[str, Any]:
    """A person; their productions as the caller may see them (a producer: their own).
    ``productions``: theirs, when the caller already read them for a whole page at once."""
    theirs = scope.person_productions(p) if productions is None else productions
    return {"id": p.id, "name": p.name, "kind": p.kind, "is_minor": p.is_minor,
            "guardian": p.guardian, "productions": scope.seen_productions(by, theirs),
            "created_at": p.created_at, "attributes": attrs.shown(by, p.attributes),
            "deceased_on": p.deceased_on}


def production_dict(p: Production) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "title": p.title, "created_at": p.created_at, "attributes": p.attributes}


def add_person(name: str, kind: str = "performer", *, is_minor: bool = False,
               guardian: str | None = None, productions: Iterable[str] = (),
               attributes: Mapping[str, Any] | None = None, by: Principal | None = None) -> dict[str, Any]:
    """Register a person for ``productions``; a producer must name one or more of their own."""
    name = vocab.name(name, "person")
    vocab.choose(kind, vocab.person_kinds(), "person kind")
    if is_minor and not guardian:
        raise InvalidInput(f"{name} is a minor: name their guardian (--guardian)")
    guardian = vocab.name(guardian, "guardian") if guardian else None
    terms = attrs.checked("person", attributes, by)
    with transaction():
        scoped = scope.own_productions(by, productions, "person")
        if Person.select().where(Person.name == name).exists():
            raise Conflict(f"a person named '{name}' is already registered",
                           hint="people are identified by name; if they are already registered for another "
                                "production, ask legal to add them to yours; otherwise add a distinguishing suffix")
        person = Person.create(name=name, kind=kind, is_minor=is_minor, guardian=guardian,
                               created_at=utcnow(), attributes=terms)
        for production in scoped:
            PersonProduction.create(person=person, production=get_production(production))
        record("person.added", f"person:{person.id}", {"name": name, "kind": kind, "is_minor": is_minor,
                                                       "productions": scoped, "attributes": terms})
    return person_dict(person)


def link_production(ref: str | int, production: str, *, by: Principal) -> dict[str, Any]:
    """Legal adds a registered person to another production (their producers then see them)."""
    scope.require_legal(by, "add a person to a production")
    with transaction():
        person = get_person(ref)
        prod = get_production(production)
        _, created = get_or_create(PersonProduction, person=person, production=prod)
        if created:
            record("person.joined_production", f"person:{person.id}", {"production": prod.name}, by.name)
    return person_dict(person)


def link_for_consent(person: Person, productions: Iterable[str]) -> None:
    """A consent recorded for named productions says the person takes part in them."""
    for name in productions:
        if name != vocab.ALL_PRODUCTIONS:
            get_or_create(PersonProduction, person=person, production=get_production(name))


def get_person(ref: str | int) -> Person:
    """By id or by exact name."""
    return lookup.by_name_or_id(Person, Person.name, ref, id_first=True, missing=f"no person '{ref}' is registered",
                                hint="list them with: slate person list")


def find_person(ref: str | int, by: Principal | None) -> Person:
    """``get_person`` as the caller may see it: outside their productions it does not exist."""
    return scope.seen(by, "person", ref, lambda: get_person(ref), scope.person_visible)


def list_people(by: Principal | None = None) -> list[dict[str, Any]]:
    return [person_dict(p, by) for p in scope.visible_people(by, Person.select()).order_by(Person.name)]


#: people a page lists at once (a studio registers thousands: the rest are a search or a page away)
PEOPLE_PAGE = 50


@dataclass(frozen=True)
class PeoplePage:
    """One page of the people the caller may see, by name: ``total`` match the search, and
    ``next_after`` is the name to continue after (None on the last page)."""

    people: tuple[dict[str, Any], ...]
    total: int
    next_after: str | None


def _visible_named(by: Principal | None, find: str) -> Any:
    query = scope.visible_people(by, Person.select())
    folded = " ".join(find.split())
    return query.where(Person.name.contains(folded)) if folded else query


def page_people(by: Principal | None, *, find: str = "", after: str = "", limit: int = PEOPLE_PAGE) -> PeoplePage:
    """The people whose name holds ``find`` (any letter case), by name after ``after``, at most
    ``limit``, each with their productions (read for the whole page in one query): a page
    costs a few queries however many people the studio registers."""
    query = _visible_named(by, find)
    total = query.count()
    if after:
        query = query.where(Person.name > after)
    rows = list(query.order_by(Person.name).limit(limit + 1))
    shown = rows[:limit]
    theirs = productions_of([p.id for p in shown])
    return PeoplePage(tuple(person_dict(p, by, theirs.get(p.id, set())) for p in shown), total,
                      shown[-1].name if len(rows) > limit else None)


def productions_of(person_ids: Iterable[int]) -> dict[int, set[str]]:
    """Each person's production names, for many people in one query."""
    found: dict[int, set[str]] = {}
    ids = sorted(set(person_ids))
    if not ids:
        return found
    for person_id, name in tuples(PersonProduction.select(PersonProduction.person, Production.name)
                                  .join(Production).where(PersonProduction.person.in_(ids))):
        found.setdefault(person_id, set()).add(name)
    return found


def people_named(find: str, by: Principal | None, *, chosen: tuple[str, ...] = (),
                 limit: int = PEOPLE_PAGE) -> tuple[tuple[str, ...], bool]:
    """Names of the people the caller may see whose name holds ``find``, by name, at most
    ``limit`` (and whether more match), with the ``chosen`` ones first whatever the search:
    a form never drops who was ticked (the new-request form's picker)."""
    kept = [n for (n,) in tuples(scope.visible_people(by, Person.select(Person.name))
                                 .where(Person.name.in_(sorted(set(chosen)))).order_by(Person.name))] if chosen else []
    found = [n for (n,) in tuples(_visible_named(by, find).select(Person.name).order_by(Person.name)
                                  .limit(limit + 1))]
    return tuple(kept + [n for n in found[:limit] if n not in kept]), len(found) > limit


def add_production(name: str, title: str = "", attributes: Mapping[str, Any] | None = None,
                   by: Principal | None = None) -> dict[str, Any]:
    """A production (an admin's act; ``by=None`` is the operator's own path)."""
    name = vocab.name(name, "production")
    terms = attrs.checked("production", attributes, by)
    with transaction():
        if Production.select().where(Production.name == name).exists():
            raise Conflict(f"a production named '{name}' already exists")
        production = Production.create(name=name, title=title, created_at=utcnow(), attributes=terms)
        record("production.added", f"production:{production.id}", {"name": name, "attributes": terms},
               by.name if by else None)
    return production_dict(production)


def get_production(ref: str | int) -> Production:
    return lookup.by_name_or_id(Production, Production.name, ref, id_first=True,
                                missing=f"no production '{ref}' exists", hint="list them with: slate production list")


def list_productions(by: Principal | None = None) -> list[dict[str, Any]]:
    query = Production.select().order_by(Production.name)
    if scope.confined(by):
        query = query.where(Production.name.in_(sorted(by.productions)))
    return [production_dict(p) for p in query]
