"""The closed vocabularies legal's policies and the registry share.

The lists here are Slate's own; the published fact catalogue may add words to a few of
them (``licence_grants`` and the like), never take any away."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

import pycountry

from ..catalogue import published_catalogue
from ..errors import InvalidInput

PERSON_KINDS = ("performer", "rights_holder", "crew")
#: ``biometric_matching``: the person's reference photos may be matched against faces in
#: generated images (output review), so an undeclared appearance is caught
CONSENT_USES = ("likeness", "voice", "ai_training", "reference", "biometric_matching")
OUTPUT_USES = ("concept", "previs", "final_frame", "marketing")
LICENCE_GRANTS = ("ai_training", "ai_reference") + OUTPUT_USES
MODEL_STATUSES = ("registered", "approved", "retired")
WORLDWIDE = "WW"
ALL_PRODUCTIONS = "*"

_TERRITORY = re.compile(r"^[A-Z]{2}$")
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")


def choose(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"'{value}' is not a known {what}; use one of: {', '.join(allowed)}")
    return value


def choose_many(values: Iterable[str], allowed: Sequence[str], what: str) -> list[str]:
    chosen = sorted({choose(v.strip(), allowed, what) for v in values if v.strip()})
    if not chosen:
        raise InvalidInput(f"give at least one {what} ({', '.join(allowed)})")
    return chosen


@lru_cache(maxsize=1)
def _iso_3166() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes in force, from pycountry (which tracks the standard)."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


def territory(value: str) -> str:
    """One ISO 3166-1 alpha-2 code in force (``GB``, not ``UK``; no user-assigned ``ZZ``), or WW."""
    code = (value or "").strip().upper()
    if code == WORLDWIDE:
        return code
    if not _TERRITORY.match(code):
        raise InvalidInput(f"'{code[:40]}' is not a territory; use a two-letter ISO 3166 code or WW")
    if code not in _iso_3166():
        hint = " (the United Kingdom is GB)" if code == "UK" else ""
        raise InvalidInput(f"'{code}' is not an ISO 3166 country code in force{hint}; use one such as GB, "
                           "or WW for worldwide")
    return code


def territories(values: Iterable[str]) -> list[str]:
    """ISO 3166-1 alpha-2 codes in force, or WW for worldwide."""
    codes = sorted({territory(v) for v in values if v.strip()})
    if not codes:
        raise InvalidInput("give at least one territory (ISO 3166 code such as GB, or WW for worldwide)")
    return codes


def name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not _NAME.match(value):
        raise InvalidInput(f"a {what} needs a name of 1 to 200 printable characters")
    return value


def split_csv(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in (p.strip() for p in value.split(",")) if v]
    return [str(v).strip() for v in value if str(v).strip()]


def licence_grants() -> tuple[str, ...]:
    """What a licence may grant: Slate's grants and the published catalogue's extensions."""
    return published_catalogue().vocabulary("licence.grants", LICENCE_GRANTS)


def consent_uses() -> tuple[str, ...]:
    """What a consent may allow: Slate's uses and the published catalogue's extensions."""
    return published_catalogue().vocabulary("consent.uses", CONSENT_USES)


def person_kinds() -> tuple[str, ...]:
    """The kinds of person: Slate's and the published catalogue's extensions."""
    return published_catalogue().vocabulary("person.kinds", PERSON_KINDS)
