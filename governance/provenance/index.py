"""Filling the facet table: when an output is signed, and once for outputs signed before.

``index_output`` runs inside the signing transaction (``lifecycle.signing.complete_job``), so an
output is searchable exactly when it exists. ``backfill`` indexes outputs that have no
facets yet (a database migrated from before step 7); it is idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from ..ids import is_id
from ..ledger.tables import Output
from ..policy.tables import DecisionRecord, GenerationRequest
from ..registry.tables import Asset, AssetPerson, Model, Person
from .tables import CreditTally, OutputFacet

Facet = tuple[str, str]


def facets_for(request: GenerationRequest | None, decision: DecisionRecord | None,
               approvers: Iterable[str], model: Model | None) -> set[Facet]:
    """The (kind, value) pairs an output made under these records is linked to (every
    person who signed its request off is an approver of it)."""
    facets: set[Facet] = {("all", "")}
    if model is not None:
        facets.add(("model", str(model.id)))
        if model.training_set_id:
            facets.add(("training_set", str(model.training_set_id)))
    facets |= {("approver", name) for name in approvers if name}
    if decision is not None:
        facets.add(("outcome", decision.outcome))
        facets |= {("consent", str(r["id"])) for r in (decision.records or {}).get("consents", [])}
    if request is None:
        return facets
    facets.add(("production", request.production))
    facets.add(("use", request.use))
    asset_ids, licence_ids = _references(request, decision)
    facets |= {("asset", str(a)) for a in asset_ids} | {("licence", str(lic)) for lic in licence_ids}
    facets |= {("person", str(p)) for p in _people(request, asset_ids)}
    return facets


def _references(request: GenerationRequest, decision: DecisionRecord | None) -> tuple[set[int], set[int]]:
    """Reference asset ids and the licences the decision judged them under."""
    entries = ((decision.facts or {}).get("references") or []) if decision is not None else []
    assets = {int(e["asset"]["id"]) for e in entries if is_id(e.get("asset", {}).get("id", ""))}
    licences = {int(e["licence"]["id"]) for e in entries
                if e.get("licence") and is_id(e["licence"].get("id", ""))}
    if not entries and request.references:  # no facts kept: fall back to the registry now
        rows = Asset.select(Asset.id, Asset.licence).where(Asset.sha256.in_(list(request.references)))
        assets = {r.id for r in rows}
        licences = {r.licence_id for r in rows if r.licence_id}
    return assets, licences


def _people(request: GenerationRequest, asset_ids: Iterable[int]) -> set[int]:
    ids = set()
    names = list(request.people or [])
    if names:
        ids |= {p.id for p in Person.select(Person.id).where(Person.name.in_(names))}
    assets = list(asset_ids)
    if assets:
        ids |= {link.person_id for link in AssetPerson.select(AssetPerson.person).where(AssetPerson.asset.in_(assets))}
    return ids


def write_facets(output_id: int, signed_at: datetime, facets: Iterable[Facet]) -> int:
    """Record an output's facets once, and count it in its production's credit tally the
    first time (a retried write adds no facet and no count)."""
    facets = sorted(facets)
    if not facets or OutputFacet.select().where(OutputFacet.kind == "all", OutputFacet.value == "",
                                                OutputFacet.signed_at == signed_at,
                                                OutputFacet.output == output_id).exists():
        return 0
    rows = [{"kind": k, "value": v[:200], "signed_at": signed_at, "output": output_id} for k, v in facets]
    OutputFacet.insert_many(rows).on_conflict_ignore().execute()
    _tally(facets)
    return len(rows)


def _tally(facets: list[Facet]) -> None:
    productions = [v for k, v in facets if k == "production"]
    rights = [(k, int(v)) for k, v in facets if k in ("consent", "licence") and is_id(v)]
    for production in productions:
        for kind, ident in rights:
            (CreditTally.insert(production=production, subject_kind=kind, subject_id=ident, outputs=1)
             .on_conflict(conflict_target=[CreditTally.production, CreditTally.subject_kind, CreditTally.subject_id],
                          update={CreditTally.outputs: CreditTally.outputs + 1})
             .execute())


def index_output(output_id: int, signed_at: datetime, request: GenerationRequest, decision: DecisionRecord,
                 approvers: Iterable[str]) -> int:
    """Record the facets of a freshly signed output; call inside the signing transaction."""
    return write_facets(output_id, signed_at, facets_for(request, decision, approvers, request.model))


def _records_of(row: Output) -> tuple[GenerationRequest | None, DecisionRecord | None, list[str], Model | None]:
    from ..jobs.tables import Approval, Job
    request = (GenerationRequest.get_or_none(GenerationRequest.id == int(row.request_id))
               if is_id(row.request_id) else None)
    decision = (DecisionRecord.get_or_none(DecisionRecord.id == int(row.decision_id))
                if is_id(row.decision_id) else None)
    job = Job.get_or_none(Job.id == row.job_id)
    approvers = [a.approver for a in Approval.select(Approval.approver)
                 .where((Approval.request == job.request_id) & (Approval.decision == job.decision_id)
                        & (Approval.verdict == "approved")).order_by(Approval.id)] \
        if job and job.approval_id else []
    model = request.model if request is not None else _model_by_ref(row.model_ref)
    return request, decision, approvers, model


def _model_by_ref(ref: str) -> Model | None:
    """The model of a ledger ref: NAME:VERSION (NAME@VERSION in ledgers before migration 8,
    which step 7's backfill may still meet)."""
    name, _, version = ref.rpartition("@") if "@" in ref else ref.rpartition(":")
    return Model.get_or_none(Model.name == name, Model.version == version) if name else None


def backfill(batch: int = 1000) -> int:
    """Index every output that has no facets yet; returns how many were indexed."""
    indexed = {r.output_id for r in OutputFacet.select(OutputFacet.output).where(OutputFacet.kind == "all")}
    done, last = 0, 0
    while True:
        rows = list(Output.select().where(Output.id > last).order_by(Output.id).limit(batch))
        if not rows:
            return done
        for row in rows:
            if row.id not in indexed:
                write_facets(row.id, row.signed_at, facets_for(*_records_of(row)))
                done += 1
        last = rows[-1].id


__all__ = ["backfill", "facets_for", "index_output", "write_facets"]
