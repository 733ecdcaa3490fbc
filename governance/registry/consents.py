"""Performers' consents: scoped, dated, evidenced, confirmed by four eyes, revocable, never deleted.

Only legal records a consent, and it must come with the signed consent document itself,
kept content-addressed in the data folder (``documents``); a digitally signed PDF whose
signature does not validate is refused. A consent for a minor, or for a person's likeness,
takes effect only when a second legal user confirms it: until then it is ``pending``, which
the policy sees. A revocation stamps the consent and appends an event; the consent row and
its history stay, so a decision made before the revocation can still be explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

import peewee

from ..audit.log import current_actor, record
from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..ids import is_id
from ..principal import Principal
from . import attributes as attrs
from . import documents, lookup, scope
from . import performer_terms as terms_of
from . import vocabulary as vocab
from .people import find_person, get_production, link_for_consent, person_dict
from .tables import Consent, ConsentDocument, ConsentEvent, Person

#: what four eyes protect: a consent with one of these uses, or any consent of a minor
CONFIRMED_USES = frozenset({"likeness"})


@dataclass(frozen=True)
class DocumentStore:
    """Where consent documents are kept and what they are checked against (from Settings)."""

    data_dir: Path
    keys_dir: Path
    max_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> DocumentStore:
        return cls(settings.data_dir, settings.keys_dir, settings.max_document_bytes)

    def keep(self, content: bytes) -> documents.StoredDocument:
        return documents.store_document(self.data_dir, content, max_bytes=self.max_bytes,
                                        trust_roots=documents.document_trust_roots(self.keys_dir))

    def read(self, sha256: str) -> bytes:
        return documents.read_document(self.data_dir, sha256)


def status_of(c: Consent) -> str:
    """pending | confirmed | revoked: what the policy reads as ``consent.status``."""
    return "revoked" if c.revoked_at is not None else str(c.status)


def consent_dict(c: Consent, by: Principal | None = None) -> dict[str, Any]:
    """A consent; its productions as the caller may see them (the policy's facts are built
    from the whole record, never from this view)."""
    return {
        "id": c.id, "person": c.person.name, "person_id": c.person_id,
        "uses": c.uses, "productions": scope.seen_productions(by, c.productions) if by else c.productions,
        "territories": c.territories,
        "valid_from": c.valid_from, "valid_until": c.valid_until,
        "guardian_signed": c.guardian_signed, "guardian_name": c.guardian_name,
        "guardian_relationship": c.guardian_relationship,
        "document_sha256": c.document_sha256, "document_stored": c.document_stored,
        "granted_at": c.granted_at, "recorded_by": c.recorded_by,
        "status": status_of(c), "confirmed_by": c.confirmed_by, "confirmed_at": c.confirmed_at,
        "revoked": c.revoked_at is not None, "revoked_at": c.revoked_at,
        "revoked_reason": c.revoked_reason, "version": c.version, "attributes": attrs.shown(by, c.attributes),
        "credit_text": c.credit_text, "attribution_required": c.attribution_required, "output_uses": c.output_uses,
        "max_uses": c.max_uses, "compensation": c.compensation,
        **terms_of.terms_dict(c),
    }


def document_dict(d: ConsentDocument) -> dict[str, Any]:
    return {"sha256": d.sha256, "media_type": d.media_type, "size_bytes": d.size_bytes,
            "signed": d.signed, "signers": d.signers, "recorded_by": d.recorded_by,
            "recorded_at": d.recorded_at}


def needs_confirmation(is_minor: bool, uses: Iterable[str], estate_consent: bool = False) -> bool:
    """Four eyes for a minor, for likeness, and for an estate's consent (which speaks for
    someone who can no longer object: one legal user alone cannot make it count)."""
    return is_minor or estate_consent or bool(CONFIRMED_USES & set(uses))


def record_document(content: bytes, store: DocumentStore, *, by: Principal | None = None) -> dict[str, Any]:
    """Keep a signed consent document (checked, content-addressed); the same bytes twice
    are kept once. Returns what was recorded about it."""
    if by is not None:
        scope.require_legal(by, "record consent documents")
    kept = store.keep(content)
    with transaction():
        row = ConsentDocument.get_or_none(ConsentDocument.sha256 == kept.sha256)
        if row is None:
            row = ConsentDocument.create(sha256=kept.sha256, media_type=kept.media_type,
                                         size_bytes=kept.size_bytes, signed=kept.signed,
                                         signers=[s.to_dict() for s in kept.signers],
                                         recorded_by=by.name if by else current_actor.get(),
                                         recorded_at=utcnow())
            record("consent_document.recorded", f"document:{kept.sha256}",
                   {"media_type": kept.media_type, "size_bytes": kept.size_bytes, "signed": kept.signed,
                    "signers": [s.subject for s in kept.signers]}, by.name if by else None)
    return document_dict(row)


def _check_parties(person: str | int, productions: list[str], by: Principal | None, guardian_signed: bool,
                   guardian_name: str | None, guardian_relationship: str | None) -> tuple[str | None, str | None]:
    """The person (visible to ``by``), the productions and a minor's guardian; the guardian's
    name and relationship as they will be recorded."""
    who = find_person(person, by)
    for name in productions:
        if name != vocab.ALL_PRODUCTIONS:
            get_production(name)
    return _guardian(who, guardian_signed, guardian_name, guardian_relationship)


def _document(document_sha256: str | None) -> ConsentDocument:
    digest = (document_sha256 or "").strip().lower()
    row = ConsentDocument.get_or_none(ConsentDocument.sha256 == digest) if digest else None
    if row is None:
        raise InvalidInput("a consent needs its signed consent document, kept by Slate",
                           hint="upload it first (POST /api/v1/consent-documents) and give its sha256, "
                                "or give the file (--document FILE)")
    return row


def _guardian(who: Any, guardian_signed: bool, guardian_name: str | None,
              guardian_relationship: str | None) -> tuple[str | None, str | None]:
    """A minor's consent names the guardian and how they are related; the name must be the
    guardian registered for the person."""
    name = (guardian_name or "").strip() or None
    relationship = (guardian_relationship or "").strip() or None
    if who.is_minor:
        name = name or who.guardian
        if not name or not relationship:
            raise InvalidInput(f"{who.name} is a minor: the consent must name the guardian and their "
                               "relationship to the child (guardian_name, guardian_relationship)")
        if who.guardian and name.casefold() != who.guardian.casefold():
            raise InvalidInput(f"the consent names '{name[:200]}' as guardian, but {who.name}'s registered "
                               "guardian is someone else",
                               hint="check the signed document; the person's record names their guardian")
    elif guardian_signed and not name:
        raise InvalidInput("a guardian signature needs the guardian's name")
    for value, what in ((name, "guardian's name"), (relationship, "relationship")):
        if value is not None:
            vocab.name(value, what)
    return name, relationship


def grant_consent(person: str | int, *, uses: Iterable[str], productions: Iterable[str],
                  territories: Iterable[str], valid_from: date, valid_until: date,
                  document: bytes | None = None, document_sha256: str | None = None,
                  guardian_signed: bool = False, guardian_name: str | None = None,
                  guardian_relationship: str | None = None, attributes: Mapping[str, Any] | None = None,
                  credit_text: str | None = None, attribution_required: bool = False,
                  output_uses: Iterable[str] | None = None, actor: str | None = None,
                  by: Principal | None = None, store: DocumentStore | None = None,
                  replica_type: str | None = None, use_description: str | None = None,
                  notice_given_at: Any = None, estate_consent: bool = False,
                  estate_representative: str | None = None) -> dict[str, Any]:
    """Record a consent (legal only; ``by=None`` is the operator's own path, named by ``actor``).

    A consent for a minor, for likeness or by an estate starts ``pending``: see
    ``confirm_consent``. The performers' terms (replica type, use description, notice, estate)
    are checked by ``performer_terms.checked_terms``.
    """
    if by is not None:
        scope.require_legal(by, "record a consent")
    recorder = by.name if by is not None else (actor or current_actor.get())
    uses = vocab.choose_many(uses, vocab.consent_uses(), "consent use")
    territory_codes = vocab.territories(territories)
    terms = attrs.checked("consent", attributes, by)
    credit_text, allowed_uses = _credit_terms(credit_text, attribution_required, output_uses)
    if valid_until < valid_from:
        raise InvalidInput(f"the consent ends ({valid_until}) before it starts ({valid_from})")
    scope_names = sorted({p.strip() for p in productions if p.strip()})
    if not scope_names:
        raise InvalidInput("name the productions the consent covers, or '*' for all")
    # everything that can refuse the consent is checked before its document is kept, and the
    # document (a signed PDF's validation may take seconds) is kept before the write lock
    _check_parties(person, scope_names, by, guardian_signed, guardian_name, guardian_relationship)
    performer = terms_of.checked_terms(replica_type=replica_type, use_description=use_description,
                                       notice_given_at=notice_given_at, estate_consent=estate_consent,
                                       estate_representative=estate_representative,
                                       deceased=find_person(person, by).deceased_on is not None)
    if document is not None:
        if store is None:
            raise InvalidInput("a consent document can only be recorded where Slate keeps documents")
        document_sha256 = record_document(document, store, by=by)["sha256"]
    with transaction():
        who = find_person(person, by)
        guardian, relationship = _check_parties(person, scope_names, by, guardian_signed, guardian_name,
                                                guardian_relationship)
        doc = _document(document_sha256)
        now = utcnow()
        pending = needs_confirmation(who.is_minor, uses, performer.estate_consent)
        consent = Consent.create(
            person=who, uses=uses, productions=scope_names, territories=territory_codes,
            valid_from=valid_from, valid_until=valid_until, guardian_signed=guardian_signed,
            guardian_name=guardian, guardian_relationship=relationship,
            document_sha256=doc.sha256, document_stored=True, granted_at=now, recorded_by=recorder,
            status="pending" if pending else "confirmed", confirmed_at=None if pending else now,
            attributes=terms, credit_text=credit_text, attribution_required=attribution_required,
            output_uses=allowed_uses, replica_type=performer.replica_type,
            use_description=performer.use_description, notice_given_at=performer.notice_given_at,
            estate_consent=performer.estate_consent, estate_representative=performer.estate_representative)
        link_for_consent(who, scope_names)
        ConsentEvent.create(consent=consent, event="granted", at=now, actor=recorder)
        record("consent.granted", f"consent:{consent.id}",
               {"person": who.name, "uses": uses, "productions": scope_names, "territories": territory_codes,
                "valid_from": valid_from, "valid_until": valid_until, "document_sha256": doc.sha256,
                "document_signed": doc.signed, "guardian_signed": guardian_signed,
                "status": consent.status, "attributes": terms, "credit_text": credit_text,
                "attribution_required": attribution_required, "output_uses": allowed_uses,
                **performer.audit()}, recorder)
    return consent_dict(consent)


def _credit_terms(credit_text: str | None, attribution_required: bool,
                  output_uses: Iterable[str] | None) -> tuple[str | None, list[str] | None]:
    """A performer's credit terms as the contract states them: the credit line (required when
    the consent requires a credit), and the output uses it allows (None: every use)."""
    text = (credit_text or "").strip() or None
    if text is not None and (len(text) > 300 or not text.isprintable()):
        raise InvalidInput("a credit line is at most 300 printable characters")
    if attribution_required and text is None:
        raise InvalidInput("a consent that requires a credit states the credit line (credit_text)")
    uses = None if output_uses is None else vocab.choose_many(output_uses, vocab.OUTPUT_USES, "output use")
    return text, uses


def confirm_consent(consent_id: int | str, *, by: Principal, comment: str = "") -> dict[str, Any]:
    """The second pair of eyes: a legal user other than the recorder confirms a pending consent."""
    scope.require_legal(by, "confirm a consent")
    with transaction():
        consent = get_consent(consent_id)
        if consent.revoked_at is not None:
            raise Conflict(f"consent #{consent.id} was revoked; it cannot be confirmed")
        if consent.status == "confirmed":
            who = f" by {consent.confirmed_by}" if consent.confirmed_by else " (it needed no second review)"
            raise Conflict(f"consent #{consent.id} is already confirmed{who}")
        if by.name == consent.recorded_by:
            raise Forbidden(f"you recorded consent #{consent.id}; a second legal user must confirm it",
                            hint="four eyes: ask another legal user to review the document and confirm")
        now = utcnow()
        consent.status, consent.confirmed_by, consent.confirmed_at = "confirmed", by.name, now
        consent.version += 1
        consent.save()
        ConsentEvent.create(consent=consent, event="confirmed", at=now, actor=by.name,
                            reason=comment.strip() or None)
        record("consent.confirmed", f"consent:{consent.id}",
               {"recorded_by": consent.recorded_by, "version": consent.version,
                "comment_present": bool(comment.strip())}, by.name)
    return consent_dict(consent)


def get_consent(consent_id: int | str) -> Consent:
    if not is_id(consent_id):
        raise InvalidInput(f"'{consent_id}' is not a consent id (a number)")
    return lookup.found(Consent.get_or_none(Consent.id == int(consent_id)), f"no consent #{consent_id} exists",
                        hint="see a person's consents: slate person show NAME")


def find_consent(consent_id: int | str, by: Principal | None) -> Consent:
    """``get_consent`` as the caller may see it: outside their productions it does not exist."""
    return scope.seen(by, "consent", consent_id, lambda: get_consent(consent_id), scope.consent_visible)


def revoking_actor(reason: str, actor: str | None = None, *, by: Principal | None = None) -> str | None:
    """Who revokes a consent, once it is clear they may (legal only) and say why."""
    if by is not None:
        scope.require_legal(by, "revoke a consent")
        actor = by.name
    if not reason or not reason.strip():
        raise InvalidInput("say why the consent is revoked (--reason)")
    return actor


def record_revocation(consent_id: int | str, reason: str, actor: str | None) -> Consent:
    """Mark a consent revoked, with its event and audit entry, in the caller's transaction.

    Only the record: ``governance.revocation.revoke_consent`` checks who may (``revoking_actor``)
    and applies what the revocation touches in the same transaction; callers call that."""
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
    return consent


def show_person(ref: str | int, by: Principal | None = None) -> dict[str, Any]:
    """A person with the consents the caller may see."""
    person = find_person(ref, by)
    data = person_dict(person, by)
    data["consents"] = [consent_dict(c, by) for c in person.consents.order_by(peewee.SQL("id"))
                        if scope.consent_visible(by, c)]
    return data


def consent_history(consent_id: int | str, by: Principal | None = None) -> list[dict[str, Any]]:
    consent = find_consent(consent_id, by)
    return [{"event": e.event, "at": e.at, "reason": e.reason, "actor": e.actor}
            for e in consent.events.order_by(ConsentEvent.id)]


def list_consents(person: str | int | None = None, by: Principal | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
    query = Consent.select().order_by(Consent.id)
    if person is not None:
        query = query.where(Consent.person == find_person(person, by))
    if status in ("pending", "confirmed"):
        query = query.where(Consent.status == status, Consent.revoked_at.is_null())
    elif status == "revoked":
        query = query.where(Consent.revoked_at.is_null(False))
    return [consent_dict(c, by) for c in query if scope.consent_visible(by, c)]


#: pending consents the registry page lists at once (oldest first: the longest waiting)
PENDING_PAGE = 50


def pending_consents(by: Principal | None, limit: int = PENDING_PAGE) -> tuple[list[dict[str, Any]], int]:
    """The oldest ``limit`` consents waiting for a second legal user that the caller may see,
    and how many wait in all (the page says so; ``GET /api/v1/consents?status=pending`` lists
    every one)."""
    query = (Consent.select(Consent, Person).join(Person)
             .where(Consent.status == "pending", Consent.revoked_at.is_null()).order_by(Consent.id))
    if not scope.confined(by):
        return [consent_dict(c, by) for c in query.limit(limit)], query.count()
    seen = [c for c in query if scope.consent_visible(by, c)]
    return [consent_dict(c, by) for c in seen[:limit]], len(seen)


def consents_of(person_ids: Iterable[int], by: Principal | None) -> dict[int, list[dict[str, Any]]]:
    """The consents the caller may see of many people, in one query (with each person's name),
    by person then consent id: the registry page's rows for its page of people."""
    found: dict[int, list[dict[str, Any]]] = {}
    ids = sorted(set(person_ids))
    if not ids:
        return found
    query = Consent.select(Consent, Person).join(Person).where(Consent.person.in_(ids)).order_by(Consent.id)
    for c in query:
        if scope.consent_visible(by, c):
            found.setdefault(c.person_id, []).append(consent_dict(c, by))
    return found


def consent_document(consent_id: int | str, store: DocumentStore, by: Principal | None = None) -> tuple[bytes, str]:
    """The signed document a consent rests on, and its media type: for legal and auditors."""
    if by is not None and not by.has_any(("legal", "auditor")):
        raise Forbidden("only legal and auditors may read consent documents")
    consent = find_consent(consent_id, by)
    row = ConsentDocument.get_or_none(ConsentDocument.sha256 == consent.document_sha256)
    if row is None or not consent.document_stored:
        raise NotFound(f"consent #{consent.id} was recorded before Slate kept documents: only its hash "
                       f"({consent.document_sha256[:16]}…) is on file")
    return store.read(row.sha256), str(row.media_type)
