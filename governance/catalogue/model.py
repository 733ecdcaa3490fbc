"""The fact catalogue as plain values: which typed attributes a studio records on each kind
of record, and the values it adds to Slate's closed vocabularies.

Legal and an admin keep the catalogue in a YAML file (``policies/catalogue.yaml``):

    uid: urn:slate:catalogue:studio
    version: 1
    title: Studio contract terms
    attributes:                 # record kind -> attribute name -> declaration
      licence:
        projects: {type: list, title: "Productions the licence is limited to"}
    vocabularies:               # closed lists, extended (never shrunk below Slate's own)
      licence.grants: [dubbing, trailer]

``load_catalogue`` validates a file and reports every problem with its line; ``Catalogue``
checks the values a record is given (``check_values``) and extends a closed list
(``vocabulary``). Nothing here reads the database or imports anything above the errors
layer, so the registry and the policy loader can both take a catalogue.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator, Mapping, Sequence

from ..canonical import sha256_hex
from ..errors import InvalidInput
from ..safeyaml import LimitedLoader, YamlRefused, excerpt, line_of, problem_report, read_document

#: The kinds of record that carry attributes (``user``: the requester's own).
KINDS = ("licence", "consent", "person", "asset", "production", "user")
TYPES = ("string", "number", "bool", "date", "list", "enum", "enumList")
#: The closed lists a catalogue may extend, named ``kind.field`` (the registry holds the built-ins).
VOCABULARIES = ("licence.grants", "consent.uses", "person.kinds")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: a vocabulary word or enum value: what a rule compares against
WORD = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: The studio's catalogue is a few kilobytes; a catalogue is sent over the API like a policy.
MAX_CATALOGUE_BYTES = 128 * 1024
MAX_ATTRIBUTES = 200  # per kind, and per record
MAX_ENUM_VALUES = 200
MAX_STRING = 2000
MAX_LIST_ITEMS = 200
MAX_LIST_ITEM = 200
MAX_TITLE = 300

_TOP_KEYS = ("uid", "version", "title", "description", "attributes", "vocabularies")
_DECLARATION_KEYS = ("type", "values", "title", "description")


def _shown(value: Any) -> str:
    """A value a caller sent, quoted briefly (names and values may be hostile and long)."""
    return excerpt(repr(value), 60)


class CatalogueFileError(InvalidInput):
    """A catalogue file that cannot be used; ``problems`` lists each one with its line."""

    title = "Invalid catalogue"

    def __init__(self, source: str, problems: list[str]) -> None:
        message, kept = problem_report(source, "catalogue", problems)
        super().__init__(message, hint="fix each line above; the format is described in governance/catalogue/model.py",
                         fields={"problems": kept, "problem_count": len(problems)})
        self.problems = kept


class CatalogueTooLarge(CatalogueFileError):
    """A file over the size limit, refused before any of it is parsed."""

    status = 413
    title = "Catalogue file too large"


class _CatalogueLoader(LimitedLoader):
    what = "a catalogue"


@dataclass(frozen=True)
class Attribute:
    """One declared attribute: what kind of record carries it, its name and its type."""

    kind: str
    name: str
    type: str
    values: tuple[str, ...] = ()
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "type": self.type, "values": list(self.values),
                "title": self.title}

    def check(self, value: Any) -> Any:
        """``value`` as it is stored, or ValueError saying what this attribute needs."""
        return _CHECKS[self.type](self, value)


def _string(a: Attribute, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING:
        raise ValueError(f"needs text of at most {MAX_STRING} characters")
    return value


def _number(a: Attribute, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("needs a number")
    return value


def _bool(a: Attribute, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("needs true or false")
    return value


def _date(a: Attribute, value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        if isinstance(value, str) and _DATE.match(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError("needs a date written YYYY-MM-DD")


def _list(a: Attribute, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST_ITEMS or not all(
            isinstance(item, str) and 0 < len(item) <= MAX_LIST_ITEM for item in value):
        raise ValueError(f"needs a list of at most {MAX_LIST_ITEMS} texts of 1 to {MAX_LIST_ITEM} characters")
    return list(dict.fromkeys(value))


def _enum(a: Attribute, value: Any) -> str:
    if not isinstance(value, str) or value not in a.values:
        raise ValueError(f"needs one of: {', '.join(a.values)}")
    return value


def _enum_list(a: Attribute, value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v in a.values for v in value):
        raise ValueError(f"needs a list of values from: {', '.join(a.values)}")
    return list(dict.fromkeys(value))


_CHECKS = {"string": _string, "number": _number, "bool": _bool, "date": _date, "list": _list, "enum": _enum,
           "enumList": _enum_list}


@dataclass(frozen=True)
class Catalogue:
    """A catalogue version: declared attributes by record kind, and vocabulary extensions.

    Equal (and hashed) by uid, version and the SHA-256 of its file, which fix the rest."""

    uid: str
    version: int
    sha256: str
    attributes: Mapping[str, Mapping[str, Attribute]] = field(default_factory=dict, compare=False, hash=False)
    vocabularies: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    title: str = field(default="", compare=False)

    def attribute(self, kind: str, name: str) -> Attribute | None:
        return self.attributes.get(kind, {}).get(name)

    def declared(self, kind: str) -> Mapping[str, Attribute]:
        """The attributes a kind of record may carry (none for an unknown kind)."""
        return self.attributes.get(kind, {})

    def check_values(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` as they are stored, each checked against its declaration. A value of
        None says the attribute is not set (stays None). ``InvalidInput`` names each bad field
        (``attributes.NAME``): one not declared for ``kind``, or of the wrong type."""
        if kind not in KINDS:
            raise InvalidInput(f"'{excerpt(kind, 40)}' is not a kind of record with attributes; "
                               f"use one of: {', '.join(KINDS)}")
        if not isinstance(values, Mapping):
            raise InvalidInput("attributes must be an object of name: value",
                               fields={"attributes": "needs an object of name: value"})
        if len(values) > MAX_ATTRIBUTES:
            raise InvalidInput(f"at most {MAX_ATTRIBUTES} attributes may be given at once",
                               fields={"attributes": f"more than {MAX_ATTRIBUTES} attributes"})
        checked, bad = self._checked(kind, values)
        if bad:
            raise InvalidInput(f"the {kind}'s attributes are not what the catalogue declares: "
                               + "; ".join(f"{name}: {why}" for name, why in bad.items()),
                               hint=self._hint(kind), fields=bad)
        return checked

    def updated(self, kind: str, current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """``current`` (a record's stored values) with ``changes`` applied: each change
        checked by ``check_values``; a change to None unsets the attribute. Values stored
        under an earlier catalogue and not changed are kept as they are."""
        result = dict(current)
        for name, value in self.check_values(kind, changes).items():
            if value is None:
                result.pop(name, None)
            else:
                result[name] = value
        return result

    def _checked(self, kind: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        checked: dict[str, Any] = {}
        bad: dict[str, str] = {}
        for name, value in values.items():
            label = f"attributes.{excerpt(str(name), 60)}"
            declared = self.attribute(kind, name) if isinstance(name, str) else None
            if declared is None:
                bad[label] = f"is not declared for a {kind} in the catalogue"
            elif value is None:
                checked[name] = None
            else:
                try:
                    checked[name] = declared.check(value)
                except ValueError as exc:
                    bad[label] = f"{declared.type} {exc} (got {_shown(value)})"
        return checked, bad

    def _hint(self, kind: str) -> str:
        names = sorted(self.declared(kind))
        if not names:
            return (f"the published catalogue declares no attributes for a {kind}; "
                    "legal or an admin adds them: slate catalogue draft FILE")
        return f"a {kind} may carry: {', '.join(names)} (see: slate catalogue show)"

    def vocabulary(self, key: str, builtin: Sequence[str]) -> tuple[str, ...]:
        """The closed list ``key`` (``licence.grants``): Slate's built-in values, then the
        catalogue's extensions. Never fewer than the built-ins."""
        extra = [v for v in self.vocabularies.get(key, ()) if v not in builtin]
        return (*builtin, *extra)

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "version": self.version, "title": self.title, "sha256": self.sha256,
                "attributes": {kind: [a.to_dict() for a in declared.values()]
                               for kind, declared in self.attributes.items()},
                "vocabularies": {key: list(values) for key, values in self.vocabularies.items()}}


#: What a studio without a published catalogue has: no attributes, no extra vocabulary.
EMPTY = Catalogue(uid="", version=0, sha256="")


def load_catalogue(data: bytes, source: str = "catalogue") -> Catalogue:
    """Validate and read a catalogue file's bytes; ``CatalogueFileError`` lists every problem
    with its line. The same YAML limits as a policy file (``governance.safeyaml``)."""
    try:
        raw, node = read_document(data, MAX_CATALOGUE_BYTES, _CatalogueLoader)
    except YamlRefused as exc:
        kind = CatalogueTooLarge if exc.too_large else CatalogueFileError
        raise kind(source, [exc.problem]) from None
    problems = [f"line {line_of(node, path) or 1}: {_place(path)}: {problem}"
                for path, problem in _problems(raw)]
    if problems:
        raise CatalogueFileError(source, problems)
    return Catalogue(
        uid=raw["uid"], version=raw["version"], title=raw.get("title", ""), sha256=sha256_hex(data),
        attributes={kind: {name: _attribute(kind, name, d) for name, d in declared.items()}
                    for kind, declared in (raw.get("attributes") or {}).items()},
        vocabularies={key: tuple(dict.fromkeys(values)) for key, values in (raw.get("vocabularies") or {}).items()})


def _attribute(kind: str, name: str, d: Mapping[str, Any]) -> Attribute:
    return Attribute(kind=kind, name=name, type=d["type"], values=tuple(d.get("values") or ()),
                     title=d.get("title", ""))


def _place(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[") or "(top level)"


Problems = Iterator[tuple[tuple[Any, ...], str]]


def _problems(raw: Any) -> Problems:
    if not isinstance(raw, dict):
        yield (), "a catalogue is a mapping with uid, version, title, attributes and vocabularies"
        return
    for key in raw:
        if key not in _TOP_KEYS:
            yield (key,), f"unknown key; a catalogue has: {', '.join(_TOP_KEYS)}"
    if not isinstance(raw.get("uid"), str) or not 0 < len(raw["uid"]) <= 200:
        yield ("uid",), "needs the catalogue's uid, a text of 1 to 200 characters (urn:slate:catalogue:studio)"
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 2**31:
        yield ("version",), "needs a whole number above 0, higher than any version recorded before"
    for key in ("title", "description"):
        if key in raw and (not isinstance(raw[key], str) or len(raw[key]) > MAX_STRING):
            yield (key,), f"needs text of at most {MAX_STRING} characters"
    yield from _attributes_problems(raw.get("attributes"))
    yield from _vocabulary_problems(raw.get("vocabularies"))


def _attributes_problems(attributes: Any) -> Problems:
    if attributes is None:
        return
    if not isinstance(attributes, dict):
        yield ("attributes",), f"needs a mapping of record kind ({', '.join(KINDS)}) to attributes"
        return
    for kind, declared in attributes.items():
        where = ("attributes", kind)
        if kind not in KINDS:
            yield where, f"'{excerpt(str(kind), 40)}' is not a kind of record; use one of: {', '.join(KINDS)}"
        elif not isinstance(declared, dict):
            yield where, "needs a mapping of attribute name to its declaration ({type: ...})"
        elif len(declared) > MAX_ATTRIBUTES:
            yield where, f"at most {MAX_ATTRIBUTES} attributes per kind of record"
        else:
            for name, declaration in declared.items():
                yield from _declaration_problems((*where, name), name, declaration)


def _declaration_problems(where: tuple[Any, ...], name: Any, d: Any) -> Problems:
    if not isinstance(name, str) or not NAME.match(name):
        yield where, ("an attribute name is lower case letters, digits and _, starting with a letter, "
                      "at most 40 characters")
    if not isinstance(d, dict):
        yield where, f"needs a declaration such as {{type: string}}; types: {', '.join(TYPES)}"
        return
    for key in d:
        if key not in _DECLARATION_KEYS:
            yield (*where, key), f"unknown key; a declaration has: {', '.join(_DECLARATION_KEYS)}"
    kind = d.get("type")
    if kind not in TYPES:
        yield (*where, "type"), f"'{excerpt(str(kind), 40)}' is not a type; use one of: {', '.join(TYPES)}"
    for key in ("title", "description"):
        if key in d and (not isinstance(d[key], str) or len(d[key]) > MAX_TITLE * (1 if key == "title" else 7)):
            yield (*where, key), "needs a short text"
    if kind in ("enum", "enumList"):
        yield from _word_list_problems((*where, "values"), d.get("values"), MAX_ENUM_VALUES, required=True)
    elif "values" in d:
        yield (*where, "values"), "only an enum or enumList lists its values"


def _word_list_problems(where: tuple[Any, ...], values: Any, most: int, *, required: bool) -> Problems:
    if not isinstance(values, list) or (required and not values) or len(values) > most:
        yield where, f"needs a list of 1 to {most} values"
        return
    for i, value in enumerate(values):
        if not isinstance(value, str) or not WORD.match(value):
            yield (*where, i), ("a value is lower case letters, digits, '-', '_' and '.', starting with a letter "
                                "or digit, at most 64 characters")
    if len(set(map(str, values))) != len(values):
        yield where, "lists a value twice"


def _vocabulary_problems(vocabularies: Any) -> Problems:
    if vocabularies is None:
        return
    if not isinstance(vocabularies, dict):
        yield ("vocabularies",), f"needs a mapping of list ({', '.join(VOCABULARIES)}) to the values it adds"
        return
    for key, values in vocabularies.items():
        where = ("vocabularies", key)
        if key not in VOCABULARIES:
            yield where, (f"'{excerpt(str(key), 40)}' is not a list a catalogue extends; use one of: "
                          f"{', '.join(VOCABULARIES)}")
        else:
            yield from _word_list_problems(where, values, MAX_ENUM_VALUES, required=True)
