"""Is an issued output still in good standing? Live checks of the rights its decision used.

The ledger's ``in_good_standing`` flag records what a revocation marked; these checks
also catch a revocation made directly in the registry since, so verification never
depends on a sweep having run.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..ledger.records import LedgerEntry
from ..policy.tables import DecisionRecord
from ..registry.tables import Consent, Licence, Model

StandingCheck = Callable[[LedgerEntry, Mapping[str, Any] | None], Sequence[str]]


def _decision(entry: LedgerEntry) -> DecisionRecord | None:
    return DecisionRecord.get_or_none(DecisionRecord.id == int(entry.decision_id)) \
        if str(entry.decision_id).isdigit() else None


def rights_still_hold(entry: LedgerEntry, assertion: Mapping[str, Any] | None) -> list[str]:
    """Reasons the consents and licences the decision relied on no longer hold."""
    decision = _decision(entry)
    if decision is None:
        return []
    records = decision.records or {}
    reasons = []
    consent_ids = [int(r["id"]) for r in records.get("consents", []) if str(r.get("id")).isdigit()]
    for consent in Consent.select().where(Consent.id.in_(consent_ids), Consent.revoked_at.is_null(False)):
        reasons.append(f"consent #{consent.id} of {consent.person.name} was revoked on "
                       f"{consent.revoked_at:%Y-%m-%d}: {consent.revoked_reason}")
    licence_ids = [int(r["id"]) for r in records.get("licences", []) if str(r.get("id")).isdigit()]
    for lic in Licence.select().where(Licence.id.in_(licence_ids), Licence.takedown == True):  # noqa: E712
        reasons.append(f"licence {lic.ref} was taken down: {lic.takedown_reason}")
    return reasons


def standing_checks() -> list[StandingCheck]:
    return [rights_still_hold]


__all__ = ["standing_checks", "rights_still_hold", "Model"]
