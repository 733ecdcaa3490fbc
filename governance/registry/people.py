"""People (performers and other rights holders) and productions."""

from __future__ import annotations

from typing import Any

import peewee

from ..clock import utcnow
from ..db import transaction
from ..audit.log import record
from ..errors import Conflict, InvalidInput, NotFound
from . import vocabulary as vocab
from .tables import Person, Production
from ..ids import is_id


def person_dict(p: Person) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "kind": p.kind, "is_minor": p.is_minor,
            "guardian": p.guardian, "created_at": p.created_at}


def production_dict(p: Production) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "title": p.title, "created_at": p.created_at}


def add_person(name: str, kind: str = "performer", *, is_minor: bool = False,
               guardian: str | None = None) -> dict[str, Any]:
    name = vocab.name(name, "person")
    vocab.choose(kind, vocab.PERSON_KINDS, "person kind")
    if is_minor and not guardian:
        raise InvalidInput(f"{name} is a minor: name their guardian (--guardian)")
    with transaction():
        if Person.select().where(Person.name == name).exists():
            raise Conflict(f"a person named '{name}' is already registered",
                           hint="people are identified by name; add a distinguishing suffix")
        person = Person.create(name=name, kind=kind, is_minor=is_minor, guardian=guardian,
                               created_at=utcnow())
        record("person.added", f"person:{person.id}", {"name": name, "kind": kind, "is_minor": is_minor})
    return person_dict(person)


def get_person(ref: str | int) -> Person:
    """By id or by exact name."""
    query = Person.select()
    person = (query.where(Person.id == int(ref)).first() if is_id(ref)
              else query.where(Person.name == str(ref)).first())
    if person is None:
        raise NotFound(f"no person '{ref}' is registered", hint="list them with: slate person list")
    return person


def show_person(ref: str | int) -> dict[str, Any]:
    from .consents import consent_dict
    person = get_person(ref)
    data = person_dict(person)
    data["consents"] = [consent_dict(c) for c in person.consents.order_by(peewee.SQL("id"))]
    return data


def list_people() -> list[dict[str, Any]]:
    return [person_dict(p) for p in Person.select().order_by(Person.name)]


def add_production(name: str, title: str = "") -> dict[str, Any]:
    name = vocab.name(name, "production")
    with transaction():
        if Production.select().where(Production.name == name).exists():
            raise Conflict(f"a production named '{name}' already exists")
        production = Production.create(name=name, title=title, created_at=utcnow())
        record("production.added", f"production:{production.id}", {"name": name})
    return production_dict(production)


def get_production(ref: str | int) -> Production:
    query = Production.select()
    production = (query.where(Production.id == int(ref)).first() if is_id(ref)
                  else query.where(Production.name == str(ref)).first())
    if production is None:
        raise NotFound(f"no production '{ref}' exists", hint="list them with: slate production list")
    return production


def list_productions() -> list[dict[str, Any]]:
    return [production_dict(p) for p in Production.select().order_by(Production.name)]
