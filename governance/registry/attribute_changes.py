"""Changing the catalogue attributes of a record already registered: one path for the
CLI, the API and the pages.

The change is checked like a new record's attributes (``attributes``), applied over the
values the record holds (a value of None unsets one), audited, and, on a licence or a
consent, bumps the record's version, since decisions cite the exact state they relied on.
A confined caller is told about a record outside their productions exactly as about a
missing one, before being told they may not write it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..audit.log import record
from ..db import transaction
from ..errors import InvalidInput
from ..principal import Principal
from . import assets, consents, licences, people, scope, set_revisions
from . import attributes as attrs
from .tables import Asset, Consent, Licence, Person, Production


def _licence(ref: str, by: Principal | None) -> tuple[Licence, str]:
    lic = licences.find_licence(ref, by)
    return lic, f"licence:{lic.ref}"


def _consent(ref: str, by: Principal | None) -> tuple[Consent, str]:
    consent = consents.find_consent(ref, by)
    return consent, f"consent:{consent.id}"


def _person(ref: str, by: Principal | None) -> tuple[Person, str]:
    person = people.find_person(ref, by)
    return person, f"person:{person.id}"


def _asset(ref: str, by: Principal | None) -> tuple[Asset, str]:
    asset = assets.find_asset(ref, by)
    return asset, f"asset:{asset.sha256}"


def _production(ref: str, by: Principal | None) -> tuple[Production, str]:
    production = people.get_production(ref)
    if by is not None and not by.may_see_production(production.name):
        raise scope.hidden("production", ref)
    return production, f"production:{production.id}"


_FIND: dict[str, Callable[[str, Principal | None], tuple[Any, str]]] = {
    "licence": _licence, "consent": _consent, "person": _person, "asset": _asset, "production": _production}
_VIEW: dict[str, Callable[[Any, Principal | None], dict[str, Any]]] = {
    "licence": licences.licence_dict,
    "consent": consents.consent_dict,
    "person": people.person_dict,
    "asset": assets.asset_dict,
    "production": lambda row, by: people.production_dict(row),
}
#: the registry kinds whose attributes can change here (a user's: ``governance.auth.users``)
KINDS = tuple(_FIND)


def set_attributes(kind: str, ref: str, changes: Mapping[str, Any], *, by: Principal | None) -> dict[str, Any]:
    """Apply ``changes`` to the attributes of the ``kind`` record ``ref``; returns the record."""
    if kind not in _FIND:
        raise InvalidInput(f"'{str(kind)[:40]}' is not a kind of record with attributes; use one of: "
                           f"{', '.join(KINDS)}")
    if not changes:
        raise InvalidInput("give at least one attribute to set (NAME=VALUE), or to unset (null)")
    with transaction():
        row, subject = _FIND[kind](ref, by)
        attrs.require_writer(by, kind)
        before = dict(row.attributes or {})
        row.attributes = attrs.merged(kind, before, changes)
        if row.attributes != before:
            if isinstance(row, (Licence, Consent)):
                row.version += 1
            row.save()
            if isinstance(row, Asset):
                set_revisions.member_attributes_changed(row)
            record(f"{kind}.attributes_set", subject,
                   {"attributes": row.attributes, "changed": sorted(changes)}, by.name if by else None)
    return _VIEW[kind](row, by)
