"""Who may write which rights record, and which records a caller may see.

The rules, in one place, so the API, the CLI and the pages apply the same ones:

- **Writing rights.** Consents, licences, takedowns, which licence covers an asset,
  training-set membership and models are recorded by **legal** only. Producers register
  people and assets for their own productions; that changes no decision until legal has
  recorded the rights.
- **Seeing records.** Legal, auditors, approvers, generators and admins see the whole
  studio. A producer sees the records of their own productions: people who take part in
  one of them, assets registered for one of them or held in the studio's library, consents
  that cover one of them (a consent for all productions, when its person takes part in one
  of theirs), licences of assets they see. Anything else answers exactly like a record that
  does not exist, so a producer cannot learn what another production holds.

``None`` as the principal means the operator's own path (the CLI and the demo seed run
with the database's credentials); they are not confined.
"""

from __future__ import annotations

from typing import Callable, Iterable, TypeGuard, TypeVar

import peewee

from ..db import tuples
from ..errors import Forbidden, NotFound
from ..principal import Principal
from . import vocabulary as vocab
from .tables import Asset, Consent, Licence, Person, PersonProduction, Production

RIGHTS_ROLE = "legal"


def hidden(what: str, ref: object) -> NotFound:
    """What a confined caller is told both for a record that does not exist and for one
    outside their productions: the same words, so the answer reveals nothing."""
    return NotFound(f"no {what} '{str(ref)[:200]}' exists in your productions")


R = TypeVar("R")
#: a table a query selects from
T = TypeVar("T", bound=peewee.Model)


def seen(by: Principal | None, what: str, ref: object, lookup: Callable[[], R],
         visible: Callable[[Principal | None, R], bool]) -> R:
    """A record looked up as the caller may see it: for a confined caller, a record outside
    their productions and a missing one raise the same ``NotFound`` (see ``hidden``)."""
    try:
        record = lookup()
    except NotFound:
        if confined(by):
            raise hidden(what, ref) from None
        raise
    if not visible(by, record):
        raise hidden(what, ref)
    return record


def require_legal(by: Principal, act: str) -> None:
    """Only legal records the facts that decide requests: consents, licences, takedowns, ..."""
    if RIGHTS_ROLE not in by.roles:
        raise Forbidden(f"only legal may {act}",
                        hint="producers register people and assets; legal records the rights that cover them")


def confined(by: Principal | None) -> TypeGuard[Principal]:
    """Is this caller limited to their own productions? (If so, it is a principal.)"""
    return by is not None and not by.studio_wide


def own_productions(by: Principal | None, names: Iterable[str], what: str) -> list[str]:
    """Productions named for a new person or asset: each must exist, and a producer may
    only name their own. Returns them sorted and de-duplicated."""
    wanted = sorted({n.strip() for n in names if n and n.strip()})
    for name in wanted:
        if Production.get_or_none(Production.name == name) is None or (
                confined(by) and not by.may_see_production(name)):
            raise NotFound(f"no production '{name}' exists in your productions",
                           hint="a producer registers records for the productions they belong to")
    if confined(by) and not wanted:
        raise Forbidden(f"name the production (one of yours) this {what} is registered for",
                        hint=f"your productions: {', '.join(sorted(by.productions)) or 'none'}")
    return wanted


def seen_productions(by: Principal | None, names: Iterable[str]) -> list[str]:
    """Production names on a record, as the caller may see them: a producer sees their own
    (and '*', all productions), never the names of productions they do not belong to."""
    if not confined(by):
        return sorted(names)
    return sorted(n for n in names if n == vocab.ALL_PRODUCTIONS or n in by.productions)


# ---------------------------------------------------------------- people

def person_productions(person: Person) -> set[str]:
    return {name for (name,) in tuples(Production.select(Production.name).join(PersonProduction)
                                       .where(PersonProduction.person == person))}


def person_visible(by: Principal | None, person: Person) -> bool:
    if not confined(by):
        return True
    return bool(person_productions(person) & by.productions)


def visible_people(by: Principal | None, query: peewee.ModelSelect[T]) -> peewee.ModelSelect[T]:
    """``query`` over Person narrowed to the people the caller may see."""
    if not confined(by):
        return query
    theirs = (PersonProduction.select(PersonProduction.person).join(Production)
              .where(Production.name.in_(sorted(by.productions))))
    return query.where(Person.id.in_(theirs))




# ---------------------------------------------------------------- assets

def asset_visible(by: Principal | None, asset: Asset) -> bool:
    if not confined(by) or asset.library:
        return True
    return asset.production is not None and asset.production.name in by.productions


def visible_assets(by: Principal | None, query: peewee.ModelSelect[T]) -> peewee.ModelSelect[T]:
    if not confined(by):
        return query
    theirs = Production.select(Production.id).where(Production.name.in_(sorted(by.productions)))
    return query.where((Asset.library == True) | Asset.production.in_(theirs))  # noqa: E712




# ---------------------------------------------------------------- consents

def consent_visible(by: Principal | None, consent: Consent) -> bool:
    if not confined(by):
        return True
    scope = set(consent.productions or [])
    if scope & by.productions:
        return True
    return vocab.ALL_PRODUCTIONS in scope and person_visible(by, consent.person)




# ---------------------------------------------------------------- licences

def licence_visible(by: Principal | None, lic: Licence) -> bool:
    if not confined(by):
        return True
    return bool(visible_assets(by, Asset.select(Asset.id).where(Asset.licence == lic)).exists())


def visible_licences(by: Principal | None, query: peewee.ModelSelect[T]) -> peewee.ModelSelect[T]:
    if not confined(by):
        return query
    return query.where(Licence.id.in_(visible_assets(by, Asset.select(Asset.licence)
                                                      .where(Asset.licence.is_null(False)))))

