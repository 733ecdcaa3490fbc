"""The lineage of one signed output, as plain data: assets -> licences and consents ->
training set -> model -> request -> decision (policy version) -> approval -> output.

Each record carries its present standing (a licence taken down, a consent revoked), so
the same value drives the JSON answer and the picture (``svg``). Never the prompt: the
request appears with its prompt's SHA-256 only.
"""

from __future__ import annotations

from typing import Any

import peewee

from ..clock import as_utc
from ..db import tuples
from ..errors import NotFound
from ..ids import is_id
from ..jobs.tables import Approval, Job
from ..ledger.tables import Output
from ..policy.requests import RequestRecord
from ..policy.tables import DecisionRecord, GenerationRequest
from ..principal import Principal
from ..registry import scope
from ..registry.models_registry import model_dict
from ..registry.tables import Asset, AssetPerson, Consent, Licence, Model, Person, TrainingSetMember
from .query import output_item
from .standing import revoked_rights


def get_output(sha256: str, principal: Principal | None = None) -> Output:
    """A ledger row by the SHA-256 of its signed file; producers see only their productions'."""
    text = str(sha256).strip().lower()
    row = Output.get_or_none(Output.sha256 == text) if len(text) == 64 else None
    if row is not None and principal is not None and not principal.may_see_production("\0"):
        request = GenerationRequest.get_or_none(GenerationRequest.id == int(row.request_id)) \
            if is_id(row.request_id) else None
        if request is None or not principal.may_see_production(request.production):
            row = None
    if row is None:
        raise NotFound(f"no signed output {text[:64]} exists", hint="search them with: slate provenance outputs")
    return row


def _licence(lic: Licence | None) -> dict[str, Any] | None:
    if lic is None:
        return None
    return {"id": lic.id, "ref": lic.ref, "licensor": lic.licensor, "takedown": lic.takedown,
            "takedown_reason": lic.takedown_reason}


def _references(request: GenerationRequest, principal: Principal | None = None) -> list[dict[str, Any]]:
    """The reference images, with the people they show whom the caller may see."""
    shas = list(request.references or [])
    if not shas:
        return []
    rows = {a.sha256: a for a in Asset.select().where(Asset.sha256.in_(shas))}
    people: dict[int, list[str]] = {}
    for link in (AssetPerson.select(AssetPerson.asset, Person).join(Person)
                 .where(AssetPerson.asset.in_([a.id for a in rows.values()]))):
        if scope.person_visible(principal, link.person):
            people.setdefault(link.asset_id, []).append(link.person.name)
    return [{"sha256": sha, "title": rows[sha].title if sha in rows else None,
             "licence": _licence(rows[sha].licence if sha in rows and rows[sha].licence_id else None),
             "people": sorted(people.get(rows[sha].id, [])) if sha in rows else []} for sha in shas]


def _training_set(model: Model) -> dict[str, Any] | None:
    ts = model.training_set
    if ts is None:
        return None
    counts = (TrainingSetMember.select(TrainingSetMember.licence, peewee.fn.COUNT(TrainingSetMember.id).alias("n"))
              .where(TrainingSetMember.training_set == ts).group_by(TrainingSetMember.licence))
    by_licence = dict(tuples(counts))
    licences = [{**(_licence(lic) or {}), "assets": by_licence[lic.id]}
                for lic in Licence.select().where(Licence.id.in_(list(by_licence))).order_by(Licence.ref)] \
        if by_licence else []
    return {"id": ts.id, "name": ts.name, "merkle_root": ts.merkle_root, "size": ts.size, "licences": licences}


def _consents(records: dict[str, Any]) -> list[dict[str, Any]]:
    ids = [int(r["id"]) for r in records.get("consents", []) if is_id(r.get("id"))]
    if not ids:
        return []
    return [{"id": c.id, "person": c.person.name, "uses": c.uses, "revoked": c.revoked_at is not None,
             "revoked_at": c.revoked_at, "revoked_reason": c.revoked_reason}
            for c in Consent.select(Consent, Person).join(Person).where(Consent.id.in_(ids)).order_by(Consent.id)]


def _decision(decision: DecisionRecord | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    pv = decision.policy_version
    return {"id": decision.id, "outcome": decision.outcome,
            "policy": {"uid": pv.uid, "version": pv.version, "sha256": pv.sha256, "title": pv.title},
            "credits": list(dict.fromkeys(d["text"] for d in decision.duties if d.get("text"))),
            "approvals_required": [a.get("rule") for a in decision.approvals or []],
            "records": decision.records, "created_at": decision.created_at}


def lineage(sha256: str, principal: Principal | None = None) -> dict[str, Any]:
    """Everything an output was made from and under, with each record's present standing."""
    row = get_output(sha256, principal)
    request = GenerationRequest.get_or_none(GenerationRequest.id == int(row.request_id)) \
        if is_id(row.request_id) else None
    decision = DecisionRecord.get_or_none(DecisionRecord.id == int(row.decision_id)) \
        if is_id(row.decision_id) else None
    job = Job.get_or_none(Job.id == row.job_id)
    approval = Approval.get_or_none(Approval.id == job.approval_id) if job and job.approval_id else None
    model = request.model if request is not None else None
    records = decision.records if decision is not None else {}
    live = revoked_rights(records)
    return {
        "output": {**output_item(row), "manifest_label": row.manifest_label,
                   "cert_fingerprint": row.cert_fingerprint, "timestamped": row.timestamped},
        "standing": {"in_good_standing": row.in_good_standing and not live,
                     "ledger": {"in_good_standing": row.in_good_standing, "reason": row.standing_reason,
                                "changed_at": as_utc(row.standing_changed_at) if row.standing_changed_at else None},
                     "revoked_rights": live},
        "request": RequestRecord.from_row(request).to_dict() if request is not None else None,
        "decision": _decision(decision),
        "approval": ({"approver": approval.approver, "verdict": approval.verdict, "at": approval.at}
                     if approval else None),
        "signoffs": [{"approver": a.approver, "verdict": a.verdict, "at": a.at, "rules": list(a.rules or ())}
                     for a in Approval.select().where((Approval.request == approval.request_id)
                                                      & (Approval.decision == approval.decision_id))
                     .order_by(Approval.id)] if approval else [],
        "job": {"id": job.id, "status": job.status, "worker": job.worker, "attempts": job.attempts} if job else None,
        "model": model_dict(model) if model is not None else {"ref": row.model_ref},
        "training_set": _training_set(model) if model is not None else None,
        "references": _references(request, principal) if request is not None else [],
        "consents": _consents(records),
    }


__all__ = ["get_output", "lineage"]
