"""What revoking a consent or taking a licence down touches, and applying it.

The scope of a revocation:

- **assets**: a consent reaches every asset its person appears in; a licence, every asset
  registered or used in a training set under it;
- **training sets** holding those assets (a licence: holding an asset *under* it), and the
  **models** trained on them, which are flagged for retirement review (not retired: that
  is legal's call);
- **pending requests** and **signed outputs** whose decision relied on the record, which is
  exactly what verification's live standing check tests (``standing.revoked_rights``): a
  consent chosen for a performer (depicted, named or shown in a reference image); a licence
  of a reference image or of the model's training set. Queued and running jobs become
  ``blocked``; requests awaiting approval can no longer be approved; signed outputs are
  marked as no longer in good standing.

Nothing is deleted. ``consent_impact``/``licence_impact`` compute without changing
anything (the dry run); ``apply`` makes the changes and logs them, inside the caller's
transaction (the revocation's own).

A producer's dry run shows only what their productions may see: the record must be one
they can see, and the requests, outputs and assets it reaches are counted and listed within
their productions (training sets and models are the studio's, seen by all).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import peewee

from ..audit.log import record
from ..clock import utcnow
from ..db import database, tuples
from ..jobs.statuses import JobStatus
from ..jobs.tables import Job
from ..ledger.tables import Output
from ..policy import usage
from ..policy.tables import AwaitingApproval, DecisionRecord, GenerationRequest
from ..principal import Principal
from ..registry import scope as visibility
from ..registry.consents import find_consent
from ..registry.licences import find_licence
from ..registry.tables import Asset, AssetPerson, Consent, Licence, Model, TrainingSet, TrainingSetMember
from .tables import OutputFacet

#: how many affected outputs an impact lists by hash; the count is always exact
SAMPLE = 100
PENDING_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.AWAITING_OUTPUT_REVIEW)


@dataclass(frozen=True)
class Scope:
    """A revocation resolved to the records it reaches (ids), before anything changes."""

    kind: str                      # consent | licence
    record_id: int
    subject: str                   # audit subject: consent:ID | licence:REF
    label: str
    standing_reason: str           # what marked outputs and blocked jobs say
    asset_ids: peewee.SelectQuery
    training_set_ids: tuple[int, ...]
    model_ids: tuple[int, ...]
    output_term: Mapping[str, frozenset[str]]
    cites: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Impact:
    cause: dict[str, Any]
    assets: int
    training_sets: tuple[dict[str, Any], ...]
    models: tuple[dict[str, Any], ...]
    pending_requests: tuple[dict[str, Any], ...]
    outputs: int
    outputs_sample: tuple[str, ...]
    applied: bool = False
    changes: dict[str, int] | None = None
    #: True when ``outputs`` is a floor: counting stopped there (a page's bounded count)
    outputs_at_least: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"cause": self.cause, "applied": self.applied, "assets": self.assets,
                "training_sets": list(self.training_sets), "models": list(self.models),
                "pending_requests": list(self.pending_requests),
                "outputs": {"count": self.outputs, "sha256": list(self.outputs_sample),
                            "listed": len(self.outputs_sample), "at_least": self.outputs_at_least},
                "changes": self.changes}


# ---------------------------------------------------------------- scopes

def _cites(kind: str, record_id: int) -> Callable[[Mapping[str, Any]], bool]:
    wanted = str(record_id)
    return lambda records: any(str(r.get("id")) == wanted for r in (records or {}).get(kind, []))


def _sets_holding(member_condition: peewee.Expression) -> tuple[int, ...]:
    rows = TrainingSetMember.select(TrainingSetMember.training_set).where(member_condition).distinct()
    return tuple(sorted(r.training_set_id for r in rows))


def _models_of(set_ids: tuple[int, ...]) -> tuple[int, ...]:
    if not set_ids:
        return ()
    return tuple(sorted(m.id for m in Model.select(Model.id).where(Model.training_set.in_(list(set_ids)))))


def consent_scope(consent: Consent) -> Scope:
    person = consent.person
    assets = AssetPerson.select(AssetPerson.asset).where(AssetPerson.person == person)
    sets = _sets_holding(TrainingSetMember.asset.in_(assets))
    when = f"{consent.revoked_at:%Y-%m-%d}" if consent.revoked_at else "(not yet revoked)"
    reason = f"consent #{consent.id} of {person.name} was revoked on {when}: {consent.revoked_reason}"
    return Scope("consent", consent.id, f"consent:{consent.id}", f"consent #{consent.id} of {person.name}",
                 reason, assets, sets, _models_of(sets), {"consent": frozenset({str(consent.id)})},
                 _cites("consents", consent.id))


def licence_scope(lic: Licence) -> Scope:
    registered = Asset.select(Asset.id).where(Asset.licence == lic)
    trained = TrainingSetMember.select(TrainingSetMember.asset).where(TrainingSetMember.licence == lic)
    sets = _sets_holding(TrainingSetMember.licence == lic)
    models = _models_of(sets)
    term = {"licence": frozenset({str(lic.id)})}
    if models:
        term["model"] = frozenset(str(m) for m in models)
    reason = f"licence {lic.ref} was taken down: {lic.takedown_reason}"
    return Scope("licence", lic.id, f"licence:{lic.ref}", f"licence {lic.ref}", reason, registered | trained,
                 sets, models, term, _cites("licences", lic.id))


# ---------------------------------------------------------------- what a scope reaches

def _facet_condition(term: Mapping[str, frozenset[str]]) -> peewee.Expression:
    parts = [(OutputFacet.kind == k) & OutputFacet.value.in_(sorted(v)) for k, v in sorted(term.items())]
    condition = parts[0]
    for part in parts[1:]:
        condition = condition | part
    return condition


def affected_outputs(scope: Scope) -> peewee.SelectQuery:
    """Ids of the signed outputs the scope reaches (a subquery: never loaded whole)."""
    return OutputFacet.select(OutputFacet.output).where(_facet_condition(scope.output_term))


def _productions_term(by: Principal | None) -> dict[str, frozenset[str]] | None:
    """The facet term confining a producer to their productions; None for the studio-wide."""
    if not visibility.confined(by):
        return None
    return {"production": frozenset(by.productions)}


def _in_productions(productions: frozenset[str]) -> peewee.ColumnBase:
    """The facet row's output was made for one of ``productions``: its request looked up by key
    (an output's production facet is its request's production, ``index.facets_of``), rather than
    every output of those productions gathered first (a million for a producer of all of them)."""
    return peewee.fn.EXISTS(
        Output.select(peewee.SQL("1"))
        .join(GenerationRequest, on=(GenerationRequest.id == peewee.Cast(Output.request_id, "INTEGER")))
        .where((Output.id == OutputFacet.output) & GenerationRequest.production.in_(sorted(productions))))


def _count_outputs(scope: Scope, by: Principal | None = None, up_to: int | None = None) -> int:
    """The distinct outputs the scope reaches (within ``by``'s productions); with ``up_to``,
    counting stops past that many (a licence can reach most of a million outputs: a page says
    "more than" rather than walk them all; the API and the CLI count exactly)."""
    reached = OutputFacet.select(OutputFacet.output).where(_facet_condition(scope.output_term)).distinct()
    theirs = _productions_term(by)
    if theirs is not None:
        reached = reached.where(_in_productions(theirs["production"]))
    if up_to is not None:
        reached = reached.limit(up_to + 1)
    return int(reached.count())


def _sample(scope: Scope, by: Principal | None = None) -> tuple[str, ...]:
    """The newest ``SAMPLE`` outputs the scope reaches (within ``by``'s productions), by hash:
    one index walk per (kind, value) of the scope, newest first, merged."""
    theirs = _productions_term(by)
    if theirs is not None and not theirs["production"]:
        return ()
    walks = []
    for kind, values in sorted(scope.output_term.items()):
        for value in sorted(values):
            walk = (OutputFacet.select(OutputFacet.signed_at, OutputFacet.output)
                    .where(OutputFacet.kind == kind, OutputFacet.value == value)
                    .order_by(OutputFacet.signed_at.desc(), OutputFacet.output.desc()).limit(SAMPLE))
            if theirs is not None:
                walk = walk.where(_in_productions(theirs["production"]))
            walks.append([(at, ident) for at, ident in tuples(walk)])
    ids: list[int] = []
    for _, ident in heapq.merge(*walks, reverse=True):
        if ident not in ids:
            ids.append(ident)
            if len(ids) == SAMPLE:
                break
    rows = {r.id: r.sha256 for r in Output.select(Output.id, Output.sha256).where(Output.id.in_(ids))} if ids else {}
    return tuple(rows[i] for i in ids if i in rows)


def _rare(condition: peewee.Expression) -> peewee.ColumnBase:
    """``condition``, marked for SQLite's planner as true of few rows. Its statistics see three
    job statuses over a million jobs and walk the whole table (a tenth of a second) rather than
    the status index for the few hundred pending ones; PostgreSQL keeps per-value counts."""
    if isinstance(database.obj, peewee.SqliteDatabase):
        return peewee.fn.likelihood(condition, peewee.SQL("0.001"))
    return condition


def pending_requests() -> list[tuple[GenerationRequest, DecisionRecord, Job | None]]:
    """Requests not yet signed that could still be: queued or running jobs, and requests
    awaiting an approver."""
    # only the columns read here: a decision's stored facts are large JSON, parsed per row
    running = (Job.select(Job.id, Job.status, Job.request, Job.decision, DecisionRecord.id, DecisionRecord.records,
                          GenerationRequest.id, GenerationRequest.production)
               .join(DecisionRecord).switch(Job).join(GenerationRequest)
               .where(_rare(Job.status.in_(PENDING_JOB_STATUSES))))
    found: list[tuple[GenerationRequest, DecisionRecord, Job | None]] = [(j.request, j.decision, j) for j in running]
    # the approval queue (step 29) holds exactly the requests whose latest decision awaits
    # sign-offs: read through it, not by testing every needs_approval decision ever recorded
    # for an approval or a job (a second at a million requests)
    awaiting = (DecisionRecord.select(DecisionRecord.id, DecisionRecord.records, DecisionRecord.request,
                                      GenerationRequest.id, GenerationRequest.production)
                .join(GenerationRequest)
                .where(DecisionRecord.id.in_(AwaitingApproval.select(AwaitingApproval.decision_id))))
    found += [(d.request, d, None) for d in awaiting]
    return found


def _pending_hit(scope: Scope) -> list[tuple[GenerationRequest, DecisionRecord, Job | None]]:
    return [p for p in pending_requests() if scope.cites(p[1].records)]


def _pending_dict(request: GenerationRequest, job: Job | None) -> dict[str, Any]:
    return {"id": request.id, "production": request.production,
            "status": job.status if job else "awaiting_approval", "job": job.id if job else None}


def _sets_dicts(ids: tuple[int, ...]) -> tuple[dict[str, Any], ...]:
    if not ids:
        return ()
    return tuple({"id": t.id, "name": t.name, "merkle_root": t.merkle_root, "size": t.size}
                 for t in TrainingSet.select().where(TrainingSet.id.in_(list(ids))).order_by(TrainingSet.name))


def _model_dicts(ids: tuple[int, ...]) -> tuple[dict[str, Any], ...]:
    if not ids:
        return ()
    return tuple({"id": m.id, "ref": f"{m.name}:{m.version}", "status": m.status,
                  "needs_retirement_review": m.needs_retirement_review}
                 for m in Model.select().where(Model.id.in_(list(ids))).order_by(Model.name, Model.version))


def compute(scope: Scope, pending: list[tuple[GenerationRequest, DecisionRecord, Job | None]] | None = None,
            applied: bool = False, changes: dict[str, int] | None = None,
            by: Principal | None = None, count_up_to: int | None = None) -> Impact:
    """What the scope reaches; for a producer (``by`` confined), within their productions.
    ``count_up_to`` bounds the output count (``outputs_at_least`` then says it is a floor)."""
    pending = _pending_hit(scope) if pending is None else pending
    pending = [p for p in pending if by is None or by.may_see_production(p[0].production)]
    assets = visibility.visible_assets(by, Asset.select(Asset.id).where(Asset.id.in_(scope.asset_ids)))
    cause = {"kind": scope.kind, "id": scope.record_id, "subject": scope.subject, "label": scope.label}
    counted = _count_outputs(scope, by, count_up_to)
    at_least = count_up_to is not None and counted > count_up_to
    return Impact(cause, assets.count(), _sets_dicts(scope.training_set_ids),
                  _model_dicts(scope.model_ids), tuple(_pending_dict(r, j) for r, _, j in pending),
                  min(counted, count_up_to) if at_least and count_up_to is not None else counted,
                  _sample(scope, by), applied, changes, at_least)


def consent_impact(consent_id: int | str, by: Principal | None = None, count_up_to: int | None = None) -> Impact:
    """The dry run for a consent: what revoking it touches (or touched); changes nothing."""
    return compute(consent_scope(find_consent(consent_id, by)), by=by, count_up_to=count_up_to)


def licence_impact(ref: str | int, by: Principal | None = None, count_up_to: int | None = None) -> Impact:
    """The dry run for a licence: what taking it down touches (or touched); changes nothing."""
    return compute(licence_scope(find_licence(ref, by)), by=by, count_up_to=count_up_to)


# ---------------------------------------------------------------- applying

def apply(scope: Scope, actor: str | None = None) -> Impact:
    """Block, mark and flag what the scope reaches, and log it; call inside the revocation's
    transaction, after the consent or licence itself was changed."""
    now = utcnow()
    pending = _pending_hit(scope)
    job_ids = [j.id for _, _, j in pending if j is not None]
    # a blocked job makes nothing: the uses its decision took are given back (audited)
    for job in Job.select(Job.id, Job.decision).where(Job.id.in_(job_ids), Job.status.in_(PENDING_JOB_STATUSES)):
        usage.release(job.decision_id, f"job {job.id} was blocked: {scope.standing_reason[:200]}", actor)
    blocked = (Job.update(status=JobStatus.BLOCKED, failure_reason=scope.standing_reason[:2000], updated_at=now)
               .where(Job.id.in_(job_ids), Job.status.in_(PENDING_JOB_STATUSES)).execute()) if job_ids else 0
    marked = (Output.update(in_good_standing=False, standing_reason=scope.standing_reason,
                            standing_changed_at=now.replace(tzinfo=None))
              .where(Output.id.in_(affected_outputs(scope)), Output.in_good_standing == True)  # noqa: E712
              .execute())
    flagged = (Model.update(needs_retirement_review=True)
               .where(Model.id.in_(list(scope.model_ids)), Model.needs_retirement_review == False)  # noqa: E712
               .execute()) if scope.model_ids else 0
    changes = {"jobs_blocked": int(blocked), "outputs_marked": int(marked), "models_flagged": int(flagged)}
    impact = compute(scope, pending, applied=True, changes=changes)
    if not any(changes.values()):
        return impact  # nothing changed beyond the revocation itself, which its own entry records
    record("provenance.revocation_applied", scope.subject,
           {**changes, "training_sets": [t["name"] for t in impact.training_sets],
            "models": [m["ref"] for m in impact.models],
            "requests": [p["id"] for p in impact.pending_requests], "jobs": job_ids,
            "outputs_affected": impact.outputs}, actor)
    return impact


__all__ = [
    "Impact",
    "Scope",
    "affected_outputs",
    "apply",
    "consent_impact",
    "consent_scope",
    "licence_impact",
    "licence_scope",
    "pending_requests",
]
