"""What each performer consented to, in words, as the approver of a request reads it.

A decision's facts carry only the SHA-256 of a consent's use description (the policy judges
that it exists; the words stay out of the facts and the evidence). The approver, who checks
this use against what the performer agreed to, reads the words from the consent record and
sees whether they are still the words the decision was made on: consents are never edited,
so a mismatch means the record was tampered with, and the approver should refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..policy.tables import DecisionRecord
from ..registry.performer_terms import description_sha256
from ..registry.tables import Consent


@dataclass(frozen=True)
class ConsentedUse:
    """One depicted, named or referenced person's consent as decided, and its words now."""

    person: str
    consent_id: str
    replica_type: str | None
    use_description: str | None
    decided_sha256: str | None
    unchanged: bool

    def to_dict(self) -> dict[str, Any]:
        return {"person": self.person, "consent": self.consent_id, "replica_type": self.replica_type,
                "use_description": self.use_description, "use_description_sha256": self.decided_sha256,
                "unchanged": self.unchanged}


def consented_uses(decision: DecisionRecord | None) -> tuple[ConsentedUse, ...]:
    """The consents the decision judged its performers on, with each one's description."""
    if decision is None:
        return ()
    return tuple(use for p in (decision.facts or {}).get("performers") or []
                 if (use := _use(p)) is not None)


def _use(performer: Mapping[str, Any]) -> ConsentedUse | None:
    decided = performer.get("consent")
    if not isinstance(decided, Mapping) or not str(decided.get("id", "")).isdigit():
        return None
    row = Consent.get_or_none(Consent.id == int(decided["id"]))
    words = row.use_description if row is not None else None
    decided_sha = decided.get("use_description_sha256")
    return ConsentedUse(str((performer.get("person") or {}).get("name")), str(decided["id"]),
                        decided.get("replica_type"), words, decided_sha,
                        unchanged=description_sha256(words) == decided_sha)
