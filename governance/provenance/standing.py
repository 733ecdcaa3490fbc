"""Is an issued output still in good standing? Live checks of the rights its decision used.

The ledger's ``in_good_standing`` flag records what a revocation marked; these checks
also catch a revocation made directly in the registry since, so verification never
depends on a sweep having run. The same check stops a request awaiting approval from
being approved once a right its decision relied on is gone.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import peewee

from ..credentials.verdict import FAIL, Check, Verdict
from ..ids import is_id
from ..jobs.tables import Job
from ..ledger.records import LedgerEntry
from ..ledger.tables import Output, Reproduction
from ..policy.tables import DecisionRecord, GenerationRequest
from ..principal import Principal
from ..registry.tables import Consent, Licence, Model

StandingCheck = Callable[[LedgerEntry, Mapping[str, Any] | None], Sequence[str]]


def _decision(entry: LedgerEntry) -> DecisionRecord | None:
    return DecisionRecord.get_or_none(DecisionRecord.id == int(entry.decision_id)) \
        if is_id(entry.decision_id) else None


def _ids(records: Mapping[str, Any], kind: str) -> list[int]:
    return [int(r["id"]) for r in records.get(kind, []) if is_id(r.get("id"))]


def revoked_rights(records: Mapping[str, Any] | None) -> list[str]:
    """Reasons the consents and licences named in a decision's records no longer hold."""
    records = records or {}
    reasons = []
    consent_ids = _ids(records, "consents")
    if consent_ids:
        for consent in Consent.select().where(Consent.id.in_(consent_ids), Consent.revoked_at.is_null(False)):
            reasons.append(f"consent #{consent.id} of {consent.person.name} was revoked on "
                           f"{consent.revoked_at:%Y-%m-%d}: {consent.revoked_reason}")
    licence_ids = _ids(records, "licences")
    if licence_ids:
        for lic in Licence.select().where(Licence.id.in_(licence_ids), Licence.takedown == True):  # noqa: E712
            reasons.append(f"licence {lic.ref} was taken down: {lic.takedown_reason}")
    return reasons


def rights_still_hold(entry: LedgerEntry, assertion: Mapping[str, Any] | None) -> list[str]:
    """Reasons the consents and licences the decision relied on no longer hold."""
    decision = _decision(entry)
    reasons = revoked_rights(decision.records) if decision is not None else []
    # verification already reports the ledger's own reason; a revocation writes the same text
    return [r for r in reasons if r != entry.standing_reason]


def reproduction_holds(entry: LedgerEntry, assertion: Mapping[str, Any] | None) -> list[str]:
    """Why the output fails its reproduction audit: its latest audit (``lifecycle.reproduction``)
    found that its recorded job makes other pixels than the ledger points at."""
    latest = (Reproduction.select().where(Reproduction.output_sha256 == entry.sha256)
              .order_by(Reproduction.at.desc(), Reproduction.id.desc()).first())
    if latest is None or latest.verdict != "differs":
        return []
    on = f", made again by worker {latest.reproduced_by}" if latest.reproduced_by else ""
    reason = (f"its reproduction audit of {latest.at:%Y-%m-%d %H:%M}Z (by {latest.requested_by}{on}) found that "
              f"job {latest.job_id} does not make the ledger's pixels: {latest.reason}")
    return [reason]


def flagged_outputs(worker: str) -> list[Reproduction]:
    """The outputs ``worker`` made whose latest audit is a ``differs`` that *another worker*
    found (``lifecycle.sampling``): why the worker stays flagged. A later audit of the same
    output (the server's own generator, on request) is the latest word and settles it."""
    latest = (Reproduction.select(peewee.fn.MAX(Reproduction.id))
              .where(Reproduction.worker == worker).group_by(Reproduction.output_sha256))
    rows = Reproduction.select().where(Reproduction.id.in_(latest)).order_by(Reproduction.id)
    return [r for r in rows if r.verdict == "differs" and r.reproduced_by is not None]


def worker_not_flagged(entry: LedgerEntry, assertion: Mapping[str, Any] | None) -> list[str]:
    """Why the worker that made the output is in doubt: another worker could not make one of
    its outputs again. Every output it made is reported, not only the disputed one (whose
    own audit ``reproduction_holds`` reports), until that output is audited again."""
    job = Job.get_or_none(Job.id == entry.job_id)
    if job is None or not job.worker:
        return []
    others = [r for r in flagged_outputs(job.worker) if r.output_sha256 != entry.sha256]
    if not others:
        return []
    first = others[0]
    more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
    reason = (f"the worker that made it, {job.worker}, is flagged: worker {first.reproduced_by} could not make its "
              f"output {first.output_sha256[:16]}… (job {first.job_id}) again on {first.at:%Y-%m-%d %H:%M}Z{more}; "
              f"legal or an auditor settles it with `slate output reproduce {first.output_sha256}`")
    return [reason]


def standing_checks() -> list[StandingCheck]:
    return [rights_still_hold, reproduction_holds, worker_not_flagged]


#: what a producer of another production learns about why an output lost its standing
WITHHELD = ("it is no longer in good standing; why is for the production that made it, legal and "
            "auditors to read")


#: what a recovered copy's issuance says to someone outside its production
OTHER_PRODUCTION = ("recovered: a copy of an output Slate issued for a production you do not work on; its record "
                    "is for that production, legal and auditors")


def as_seen_by(verdict: Verdict, by: Principal | None) -> Verdict:
    """The verdict as ``by`` may read it. Anyone holding a file may verify it, but why a
    right of another production was revoked (whose consent, legal's reason, which approver's
    certificate) is not theirs to read: a producer verifying another production's output is
    told only that it lost its standing. A recovered copy carries no manifest, so its
    original's governance record and ledger ids come from Slate, not from the file: they are
    shown only to those who may see that production. The outcome is the same for everyone."""
    if by is None or by.studio_wide or verdict.sha256 is None:
        return verdict
    recovered = verdict.facts.get("recovered") or {}
    approval_failed = verdict.approval.status == FAIL
    if verdict.standing.ok and not approval_failed and not recovered:
        return verdict
    # a recovered copy's standing is its original's
    original = recovered.get("sha256") or verdict.sha256
    output = Output.get_or_none(Output.sha256 == original)
    request = (GenerationRequest.get_or_none(GenerationRequest.id == int(output.request_id))
               if output is not None and is_id(output.request_id) else None)
    if request is not None and by.may_see_production(request.production):
        return verdict
    changes: dict[str, Any] = {}
    if not verdict.standing.ok:
        changes["standing"] = Check(verdict.standing.status, (WITHHELD,), verdict.standing.codes)
    if approval_failed:
        changes["approval"] = Check(verdict.approval.status, (WITHHELD,), verdict.approval.codes)
    if changes:
        changes["summary"] = "issued by Slate, but " + WITHHELD
    if recovered:
        changes["facts"] = {k: v for k, v in verdict.facts.items() if k not in ("governance", "ledger")}
        changes["issuance"] = Check(verdict.issuance.status, (OTHER_PRODUCTION,), verdict.issuance.codes)
    return dataclasses.replace(verdict, **changes)


__all__ = ["Model", "as_seen_by", "flagged_outputs", "reproduction_holds", "revoked_rights", "rights_still_hold",
           "standing_checks", "worker_not_flagged"]
