"""Revoking a consent and taking a licence down: the record and what it touches, as one act.

The registry records the revocation (``registry.consents.record_revocation``,
``registry.licences.record_takedown``); provenance works out and applies its impact
(``provenance.impact``): jobs that relied on the record are blocked, signed outputs marked
as no longer in good standing, models trained on the assets flagged for retirement review;
and the clearance of every training set it touches is judged again (``policy.clearance``).
All happen in one transaction, here, above the two, so that the registry never reaches up
into provenance. The CLI, the API and the pages call these functions and nothing below them.
"""

from __future__ import annotations

from typing import Any

from .db import transaction
from .policy import clearance
from .principal import Principal
from .provenance import impact as provenance_impact
from .registry import consents, licences


def revoke_consent(consent_id: int | str, reason: str, actor: str | None = None, *,
                   by: Principal | None = None) -> dict[str, Any]:
    """Revoke a consent (legal only) and, in the same transaction, apply its impact: jobs that
    relied on it are blocked, outputs marked, models trained on the person's assets flagged
    for review. Returns the consent with ``impact`` (see ``governance.provenance.impact``)."""
    actor = consents.revoking_actor(reason, actor, by=by)
    with transaction():
        consent = consents.record_revocation(consent_id, reason, actor)
        impact = provenance_impact.apply(provenance_impact.consent_scope(consent), actor)
        clearance.refresh(clearance.sets_touching(person=consent.person_id), actor)
    return {**consents.consent_dict(consent), "impact": impact.to_dict()}


def take_down(ref: str | int, reason: str, actor: str | None = None, *,
              by: Principal | None = None) -> dict[str, Any]:
    """Flag a licence as taken down (legal only). The record stays; the policy refuses its
    use from now.

    In the same transaction its impact is applied: jobs that relied on it are blocked,
    outputs marked, models trained under it flagged for review. Returns the licence with
    ``impact`` (see ``governance.provenance.impact``)."""
    actor = licences.taking_down_actor(reason, actor, by=by)
    with transaction():
        lic = licences.record_takedown(ref, reason, actor)
        impact = provenance_impact.apply(provenance_impact.licence_scope(lic), actor)
        clearance.refresh(clearance.sets_touching(licence=lic.id), actor)
    return {**licences.licence_dict(lic), "impact": impact.to_dict()}
