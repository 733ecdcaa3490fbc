"""Performers' consents: scoped, dated, revocable, never deleted.

A revocation stamps the consent and appends an event; the consent row and its history
stay, so a decision made before the revocation can still be explained.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import transaction
from ..audit.log import record
from ..errors import Conflict, InvalidInput, NotFound
from . import vocabulary as vocab
from .merkle import HEX64
from .people import get_person, get_production
from .tables import Consent, ConsentEvent
from ..ids import is_id


def consent_dict(c: Consent) -> dict[str, Any]:
    return {
        "id": c.id, "person": c.person.name, "person_id": c.person_id,
        "uses": c.uses, "productions": c.productions, "territories": c.territories,
        "valid_from": c.valid_from, "valid_until": c.valid_until,
        "guardian_signed": c.guardian_signed, "guardian_name": c.guardian_name,
        "document_sha256": c.document_sha256, "granted_at": c.granted_at,
        "revoked": c.revoked_at is not None, "revoked_at": c.revoked_at,
        "revoked_reason": c.revoked_reason, "version": c.version,
    }


def _document_hash(document: bytes | None, document_sha256: str | None) -> str:
    if document is not None:
        return sha256_hex(document)
    if document_sha256 and len(document_sha256) == 64 and set(document_sha256) <= HEX64:
        return document_sha256
    raise InvalidInput("a consent needs the signed consent document (a file) or its SHA-256")


def grant_consent(person: str | int, *, uses: Iterable[str], productions: Iterable[str],
                  territories: Iterable[str], valid_from: date, valid_until: date,
                  document: bytes | None = None, document_sha256: str | None = None,
                  guardian_signed: bool = False, guardian_name: str | None = None,
                  actor: str | None = None) -> dict[str, Any]:
    uses = vocab.choose_many(uses, vocab.CONSENT_USES, "consent use")
    territory_codes = vocab.territories(territories)
    if valid_until < valid_from:
        raise InvalidInput(f"the consent ends ({valid_until}) before it starts ({valid_from})")
    doc_hash = _document_hash(document, document_sha256)
    with transaction():
        who = get_person(person)
        scope = sorted({p.strip() for p in productions if p.strip()})
        if not scope:
            raise InvalidInput("name the productions the consent covers, or '*' for all")
        for name in scope:
            if name != vocab.ALL_PRODUCTIONS:
                get_production(name)
        if guardian_signed and not (guardian_name or who.guardian):
            raise InvalidInput("a guardian signature needs the guardian's name")
        now = utcnow()
        consent = Consent.create(
            person=who, uses=uses, productions=scope, territories=territory_codes,
            valid_from=valid_from, valid_until=valid_until, guardian_signed=guardian_signed,
            guardian_name=guardian_name or (who.guardian if guardian_signed else None),
            document_sha256=doc_hash, granted_at=now)
        ConsentEvent.create(consent=consent, event="granted", at=now, actor=actor)
        record("consent.granted", f"consent:{consent.id}",
               {"person": who.name, "uses": uses, "productions": scope, "territories": territory_codes,
                "valid_from": valid_from, "valid_until": valid_until, "document_sha256": doc_hash,
                "guardian_signed": guardian_signed}, actor)
    return consent_dict(consent)


def get_consent(consent_id: int | str) -> Consent:
    if not is_id(consent_id):
        raise InvalidInput(f"'{consent_id}' is not a consent id (a number)")
    consent = Consent.get_or_none(Consent.id == int(consent_id))
    if consent is None:
        raise NotFound(f"no consent #{consent_id} exists", hint="see a person's consents: slate person show NAME")
    return consent


def revoke_consent(consent_id: int | str, reason: str, actor: str | None = None) -> dict[str, Any]:
    """Revoke a consent and, in the same transaction, apply its impact: jobs that relied on it
    are blocked, outputs marked, models trained on the person's assets flagged for review.
    Returns the consent with ``impact`` (see ``governance.provenance.impact``)."""
    from ..provenance import impact as provenance_impact
    if not reason or not reason.strip():
        raise InvalidInput("say why the consent is revoked (--reason)")
    with transaction():
        consent = get_consent(consent_id)
        if consent.revoked_at is not None:
            raise Conflict(f"consent #{consent.id} was already revoked on {consent.revoked_at:%Y-%m-%d}")
        now = utcnow()
        consent.revoked_at = now
        consent.revoked_reason = reason.strip()
        consent.version += 1
        consent.save()
        ConsentEvent.create(consent=consent, event="revoked", at=now, reason=reason.strip(), actor=actor)
        record("consent.revoked", f"consent:{consent.id}", {"reason": reason.strip(), "version": consent.version},
               actor)
        impact = provenance_impact.apply(provenance_impact.consent_scope(consent), actor)
    return {**consent_dict(consent), "impact": impact.to_dict()}


def consent_history(consent_id: int | str) -> list[dict[str, Any]]:
    consent = get_consent(consent_id)
    return [{"event": e.event, "at": e.at, "reason": e.reason, "actor": e.actor}
            for e in consent.events.order_by(ConsentEvent.id)]


def list_consents(person: str | int | None = None) -> list[dict[str, Any]]:
    query = Consent.select().order_by(Consent.id)
    if person is not None:
        query = query.where(Consent.person == get_person(person))
    return [consent_dict(c) for c in query]
