"""The records a person names in a search, as they type them: any letter case, with a
choice when the name is not unique, and the names a picker may offer them.

"mara quinn" finds the person "Mara Quinn"; "harbour" finds the asset titled "Harbour plate"
only when typed whole ("harbour plate"). An exact reference (a name, id, hash or
``name:version`` as the registry spells it) always wins; otherwise the letter-case-blind
matches among the records the caller may see decide: one is used, several answer
``Ambiguous`` with the choices, none leaves the text as typed for the registry's own
not-found answer. Lookups scan only the registry's small tables (people, assets, licences,
models, productions), never the outputs, and are capped.

Plain functions over the database; the search (``query.resolve``), its API and its page call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import peewee

from ..errors import Ambiguous
from ..principal import Principal
from ..registry import scope
from ..registry.tables import Asset, Licence, Model, Person, Production

#: the kinds of record a search names by text
KINDS = ("person", "asset", "licence", "model", "production")
#: most records one ambiguity answer lists, and most names one picker offers
MAX_CHOICES = 20
MAX_SUGGESTIONS = 200


@dataclass(frozen=True)
class Choice:
    """A record as a picker offers it: ``value`` is what the search filter takes."""

    value: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "label": self.label}


def _people(by: Principal | None) -> peewee.ModelSelect[Person]:
    return scope.visible_people(by, Person.select(Person.name)).order_by(Person.name)


def _assets(by: Principal | None) -> peewee.ModelSelect[Asset]:
    return scope.visible_assets(by, Asset.select(Asset.sha256, Asset.title)).order_by(Asset.title, Asset.id)


def _licences(by: Principal | None) -> peewee.ModelSelect[Licence]:
    return scope.visible_licences(by, Licence.select(Licence.ref, Licence.licensor)).order_by(Licence.ref)


def _models(by: Principal | None) -> peewee.ModelSelect[Model]:
    return Model.select(Model.name, Model.version).order_by(Model.name, Model.version)


def _productions(by: Principal | None) -> peewee.ModelSelect[Production]:
    query = Production.select(Production.name, Production.title).order_by(Production.name)
    if scope.confined(by):
        query = query.where(Production.name.in_(sorted(by.productions)))
    return query


def _choice(kind: str, row: Any) -> Choice:
    if kind == "person":
        return Choice(row.name, row.name)
    if kind == "asset":
        return Choice(row.sha256, f"{row.title} ({row.sha256[:12]})")
    if kind == "licence":
        return Choice(row.ref, f"{row.ref} ({row.licensor})")
    if kind == "model":
        return Choice(f"{row.name}:{row.version}", f"{row.name}:{row.version}")
    return Choice(row.name, row.name if not row.title or row.title == row.name else f"{row.name} ({row.title})")


#: kind -> (the visible records, the columns a typed name is compared with, case-blind)
_SOURCES: dict[str, tuple[Callable[[Principal | None], peewee.ModelSelect[Any]], tuple[Any, ...]]] = {
    "person": (_people, (Person.name,)),
    "asset": (_assets, (Asset.title, Asset.sha256)),
    "licence": (_licences, (Licence.ref,)),
    "model": (_models, (Model.name, Model.name.concat(":").concat(Model.version))),
    "production": (_productions, (Production.name, Production.title)),
}


def suggestions(kind: str, by: Principal | None, limit: int = MAX_SUGGESTIONS) -> tuple[Choice, ...]:
    """The first ``limit`` records of ``kind`` the caller may see, for a picker's list."""
    source, _ = _SOURCES[kind]
    return tuple(_choice(kind, row) for row in source(by).limit(limit))


def matches(kind: str, text: str, by: Principal | None, limit: int = MAX_CHOICES + 1) -> tuple[Choice, ...]:
    """The visible records of ``kind`` whose name equals ``text`` but for letter case."""
    source, columns = _SOURCES[kind]
    folded = " ".join(text.split()).lower()
    if not folded:
        return ()
    condition = peewee.fn.LOWER(columns[0]) == folded
    for column in columns[1:]:
        condition = condition | (peewee.fn.LOWER(column) == folded)
    seen: dict[str, Choice] = {}
    for row in source(by).where(condition).limit(limit):
        choice = _choice(kind, row)
        seen.setdefault(choice.value, choice)
    return tuple(seen.values())


def canonical(kind: str, text: str, by: Principal | None) -> str:
    """The reference the registry knows for what the caller typed (see the module's words).

    An exact spelling is returned as typed: the registry's lookup then finds it (or says it
    does not exist) exactly as before, so ids, hashes and prefixes keep working."""
    if not text or _exact(kind, text, by):
        return text
    found = _exact_titles(text, by) if kind == "asset" else ()
    found = found if len(found) == 1 else matches(kind, text, by)
    if len(found) == 1:
        return found[0].value
    if found:
        shown = found[:MAX_CHOICES]
        more = " (the first 20)" if len(found) > MAX_CHOICES else ""
        raise Ambiguous(f"'{text[:200]}' names {len(shown)}{'+' if more else ''} {kind} records{more}; choose one",
                        [(c.value, c.label) for c in shown], field=kind,
                        hint=f"give the {kind}'s exact reference")
    return text


@dataclass(frozen=True)
class ReferenceImage:
    """A registered image as the new-request form's picker shows it."""

    sha256: str
    title: str
    licence: str | None


#: most reference images the form's picker lists at once (a search narrows them)
MAX_PICKED = 60


def reference_images(text: str, by: Principal | None, *, chosen: tuple[str, ...] = (),
                     limit: int = MAX_PICKED) -> tuple[tuple[ReferenceImage, ...], bool]:
    """Images the caller may use as references whose title holds ``text`` (any letter case) or
    whose SHA-256 starts with it, by title, at most ``limit`` (and whether more match), with
    the ``chosen`` ones first whatever the search: a form never drops what was ticked."""
    query = (scope.visible_assets(by, Asset.select(Asset.sha256, Asset.title, Licence.ref.alias("licence_ref"))
                                  .join(Licence, peewee.JOIN.LEFT_OUTER))
             .where(Asset.media_type.startswith("image/")))
    picked = [_image(row) for row in query.where(Asset.sha256.in_(sorted(set(chosen)))).dicts()] if chosen else []
    folded = " ".join(text.split())
    if folded:
        query = query.where(Asset.title.contains(folded) | Asset.sha256.startswith(folded.lower()))
    found = [_image(row) for row in query.order_by(Asset.title, Asset.id).limit(limit + 1).dicts()]
    more = len(found) > limit
    seen = {p.sha256 for p in picked}
    return tuple(picked + [f for f in found[:limit] if f.sha256 not in seen]), more


def _image(row: Any) -> ReferenceImage:
    """From a ``.dicts()`` row of the picker's query."""
    return ReferenceImage(row["sha256"], row["title"], row.get("licence_ref"))


def _exact_titles(text: str, by: Principal | None) -> tuple[Choice, ...]:
    """Assets titled exactly ``text``: a title spelled exactly names one asset even where
    another differs from it only in letter case."""
    return tuple(_choice("asset", row) for row in _assets(by).where(Asset.title == text).limit(2))


def _exact(kind: str, text: str, by: Principal | None) -> bool:
    source, columns = _SOURCES[kind]
    return bool(source(by).where(columns[-1] == text if kind in ("asset", "model") else columns[0] == text).exists())


__all__ = ["KINDS", "MAX_CHOICES", "MAX_PICKED", "Choice", "ReferenceImage", "canonical", "matches",
           "reference_images", "suggestions"]
