"""Licences: what a licensor allows, where, for how long, and on which credit."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from ..audit.log import record
from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict, InvalidInput
from ..principal import Principal
from . import attributes as attrs
from . import lookup, scope
from . import vocabulary as vocab
from .tables import Licence


def licence_dict(lic: Licence, by: Principal | None = None) -> dict[str, Any]:
    return {
        "id": lic.id, "ref": lic.ref, "licensor": lic.licensor, "grants": lic.grants,
        "territories": lic.territories, "starts_on": lic.starts_on, "ends_on": lic.ends_on,
        "attribution_required": lic.attribution_required, "credit_text": lic.credit_text,
        "takedown": lic.takedown, "takedown_at": lic.takedown_at,
        "takedown_reason": lic.takedown_reason, "version": lic.version,
        "created_at": lic.created_at, "attributes": attrs.shown(by, lic.attributes),
        "max_uses": lic.max_uses, "compensation": lic.compensation,
    }


def add_licence(ref: str, licensor: str, *, grants: Iterable[str], territories: Iterable[str],
                starts_on: date, ends_on: date | None = None, attribution_required: bool = False,
                credit_text: str | None = None, attributes: Mapping[str, Any] | None = None,
                by: Principal | None = None) -> dict[str, Any]:
    """Record a licence (legal only; ``by=None`` is the operator's own path)."""
    if by is not None:
        scope.require_legal(by, "record a licence")
    ref = vocab.name(ref, "licence reference")
    if ":" in ref:
        raise InvalidInput("a licence reference may not contain ':' (it is part of training-set leaves)")
    licensor = vocab.name(licensor, "licensor")
    grant_list = vocab.choose_many(grants, vocab.licence_grants(), "licence grant")
    territory_codes = vocab.territories(territories)
    terms = attrs.checked("licence", attributes, by)
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput(f"licence {ref} ends ({ends_on}) before it starts ({starts_on})")
    if attribution_required and not (credit_text and credit_text.strip()):
        raise InvalidInput(f"licence {ref} requires attribution: give the credit text (--credit)")
    with transaction():
        if Licence.select().where(Licence.ref == ref).exists():
            raise Conflict(f"licence '{ref}' is already registered")
        lic = Licence.create(ref=ref, licensor=licensor, grants=grant_list,
                             territories=territory_codes, starts_on=starts_on, ends_on=ends_on,
                             attribution_required=attribution_required,
                             credit_text=credit_text.strip() if credit_text else None,
                             created_at=utcnow(), attributes=terms)
        record("licence.added", f"licence:{ref}", {"licensor": licensor, "grants": grant_list,
                                                   "territories": territory_codes, "starts_on": starts_on,
                                                   "ends_on": ends_on, "attribution_required": attribution_required,
                                                   "attributes": terms},
               by.name if by else None)
    return licence_dict(lic)


def get_licence(ref: str | int) -> Licence:
    return lookup.by_name_or_id(Licence, Licence.ref, ref, missing=f"no licence '{ref}' is registered",
                                hint="list them with: slate licence list")


def find_licence(ref: str | int, by: Principal | None) -> Licence:
    """``get_licence`` as the caller may see it: outside their productions it does not exist."""
    return scope.seen(by, "licence", ref, lambda: get_licence(ref), scope.licence_visible)


def show_licence(ref: str | int, by: Principal | None = None) -> dict[str, Any]:
    return licence_dict(find_licence(ref, by), by)


def list_licences(by: Principal | None = None, *, after: str = "", limit: int | None = None) -> list[dict[str, Any]]:
    """The licences ``by`` may see, by reference; after ``after`` and at most ``limit`` when
    given (the registry page lists a page of them and links the next)."""
    query = scope.visible_licences(by, Licence.select())
    if after:
        query = query.where(Licence.ref > after)
    query = query.order_by(Licence.ref)
    return [licence_dict(lic, by) for lic in (query.limit(limit) if limit is not None else query)]


def count_licences(by: Principal | None = None) -> int:
    """How many licences ``by`` may see."""
    return int(scope.visible_licences(by, Licence.select()).count())


def taking_down_actor(reason: str, actor: str | None = None, *, by: Principal | None = None) -> str | None:
    """Who takes a licence down, once it is clear they may (legal only) and say why."""
    if by is not None:
        scope.require_legal(by, "take a licence down")
        actor = by.name
    if not reason or not reason.strip():
        raise InvalidInput("say why the licence is taken down (--reason)")
    return actor


def record_takedown(ref: str | int, reason: str, actor: str | None) -> Licence:
    """Flag a licence as taken down, with its audit entry, in the caller's transaction. The
    record stays; the policy refuses its use from now.

    Only the record: ``governance.revocation.take_down`` checks who may (``taking_down_actor``)
    and applies what the takedown touches in the same transaction; callers call that."""
    lic = get_licence(ref)
    if lic.takedown:
        raise Conflict(f"licence {lic.ref} is already taken down")
    lic.takedown, lic.takedown_at, lic.takedown_reason = True, utcnow(), reason.strip()
    lic.version += 1
    lic.save()
    record("licence.takedown", f"licence:{lic.ref}", {"reason": lic.takedown_reason, "version": lic.version},
           actor)
    return lic
