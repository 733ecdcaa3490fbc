"""Performers' terms on a consent, as union agreements (SAG-AFTRA 2023) state them.

A consent to a digital replica says what kind of replica it is, the specific use the
performer agreed to (in words: the approver reads them, and every decision relying on the
consent carries their SHA-256, so a later edit of the words cannot pass for what was
agreed), when the performer was given notice, and, for a performer who has died, the
consent of their estate and who gave it. Projects are the consent's ``productions``: a
consent naming ``*`` covers every production for other uses, but never renews a replica
for a new project (``policy.facts.covers_project_explicitly``).

Only legal records terms (they are part of the consent, recorded by ``consents.grant_consent``)
and a person's death (``record_death``). Terms are never edited in place: new terms are a new
consent, and the old one is revoked, so each decision's evidence stays true. This module
checks and shapes the terms; it writes nothing except a death.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from ..audit.log import record
from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict, InvalidInput
from ..principal import Principal
from . import scope
from . import vocabulary as vocab
from .people import get_person

#: employment_based: made with the performer's participation for a production that employs
#: them; independently_created: made from existing material without them; background: a
#: background actor's replica; synthetic: a synthetic performer (no one recognisable)
REPLICA_TYPES = ("employment_based", "independently_created", "background", "synthetic")
#: a description long enough to name a use, short enough to be read by an approver
DESCRIPTION_MAX = 4000


@dataclass(frozen=True)
class PerformerTerms:
    """A consent's performers' terms as checked; ``None`` where the consent states none."""

    replica_type: str | None = None
    use_description: str | None = None
    notice_given_at: datetime | None = None
    estate_consent: bool = False
    estate_representative: str | None = None

    @property
    def use_description_sha256(self) -> str | None:
        return description_sha256(self.use_description)

    def audit(self) -> dict[str, Any]:
        """What the audit log keeps: the description's hash, not its words (they are on the consent)."""
        return {"replica_type": self.replica_type, "use_description_sha256": self.use_description_sha256,
                "notice_given_at": self.notice_given_at, "estate_consent": self.estate_consent,
                "estate_representative": self.estate_representative}


def description_sha256(text: str | None) -> str | None:
    """The SHA-256 of a use description's UTF-8 bytes, as the decision's facts carry it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def checked_terms(*, replica_type: str | None = None, use_description: str | None = None,
                  notice_given_at: datetime | str | None = None, estate_consent: bool = False,
                  estate_representative: str | None = None, deceased: bool = False,
                  now: datetime | None = None) -> PerformerTerms:
    """The terms as they will be recorded, or InvalidInput saying what to fix.

    ``deceased``: whether the person is recorded as dead; an estate's consent is for them only,
    and it names who gave it for the estate.
    """
    kind = vocab.choose(replica_type.strip(), REPLICA_TYPES, "replica type") if replica_type else None
    text = (use_description or "").strip() or None
    if text is not None and (len(text) > DESCRIPTION_MAX or not text.replace("\n", " ").isprintable()):
        raise InvalidInput(f"a use description is at most {DESCRIPTION_MAX} printable characters")
    notice = _notice(notice_given_at, now or utcnow())
    representative = (estate_representative or "").strip() or None
    if representative is not None:
        vocab.name(representative, "estate representative")
    if estate_consent and not deceased:
        raise InvalidInput("an estate's consent is for a performer who has died, and this person is not "
                           "recorded as deceased", hint="legal records a death first: slate person deceased NAME")
    if estate_consent and representative is None:
        raise InvalidInput("an estate's consent names who gave it for the estate (estate_representative)")
    if representative is not None and not estate_consent:
        raise InvalidInput("an estate representative is named only with the estate's consent (estate_consent)")
    return PerformerTerms(kind, text, notice, bool(estate_consent), representative)


def _notice(value: datetime | str | None, now: datetime) -> datetime | None:
    """When notice was given: a UTC time, never in the future (notice not yet given is no notice)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"'{text[:40]}' is not a date and time (notice_given_at: "
                               "YYYY-MM-DDTHH:MM[:SS]Z)") from None
    if not isinstance(value, datetime):
        raise InvalidInput("notice_given_at is a date and time (YYYY-MM-DDTHH:MM[:SS]Z)")
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if value > now:
        raise InvalidInput(f"notice_given_at ({value:%Y-%m-%d %H:%M}Z) is in the future: record notice once given")
    return value


def terms_dict(consent: Any) -> dict[str, Any]:
    """A consent's terms as the registry shows them (the description in words, and its hash)."""
    return {"replica_type": consent.replica_type, "use_description": consent.use_description,
            "use_description_sha256": description_sha256(consent.use_description),
            "notice_given_at": consent.notice_given_at, "estate_consent": bool(consent.estate_consent),
            "estate_representative": consent.estate_representative}


def record_death(ref: str | int, deceased_on: date, *, by: Principal | None = None,
                 actor: str | None = None) -> dict[str, Any]:
    """Legal records that a performer has died: from then on a replica of them needs their
    estate's consent (the policy's ``person.deceased``). Recorded once; never undone here."""
    if by is not None:
        scope.require_legal(by, "record a performer's death")
    if deceased_on > utcnow().date():
        raise InvalidInput(f"the date of death ({deceased_on}) is in the future")
    who = by.name if by is not None else actor
    with transaction():
        person = get_person(ref)
        if person.deceased_on is not None:
            raise Conflict(f"{person.name}'s death is already recorded ({person.deceased_on})")
        person.deceased_on = deceased_on
        person.save()
        record("person.deceased", f"person:{person.id}", {"deceased_on": deceased_on}, who)
    return {"id": person.id, "name": person.name, "deceased_on": deceased_on}
