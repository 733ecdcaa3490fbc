"""Deciding a generation request: the request and its decision recorded together.

``decide_request`` stores the request and the decision the active policy gives it, in the
caller's transaction; ``governance.lifecycle`` calls it as the decide step of a request's
one path (and creates the job). The prompt is stored with the request and never returned:
the frozen views here (``RequestRecord``, ``DecisionView``) carry ``prompt_sha256`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import as_utc, utcnow
from ..db import first, transaction
from ..errors import Forbidden, InvalidInput, NotFound
from ..ids import is_id
from ..principal import Principal
from ..registry.models_registry import get_model
from .clearance import training_facts_for
from .compiler import CompiledPolicy
from .decision import Decision, DutyDue, Finding, Inputs, Outcome, PolicyRef
from .registry_facts import RequestSpec, build_facts
from .stored_facts import facts_to_store
from .tables import AwaitingApproval, DecisionRecord, GenerationRequest, PolicyVersion
from .usage import annotate, release, reserve
from .versions import active_row, active_version, compiled


@dataclass(frozen=True)
class RequestRecord:
    """What was asked, as recorded: never the prompt, only its SHA-256."""

    id: int
    requester: str
    production: str
    use: str
    territory: str
    date: date
    model: str
    references: tuple[str, ...]
    people: tuple[str, ...]
    prompt_sha256: str
    created_at: datetime

    @classmethod
    def from_row(cls, r: GenerationRequest) -> RequestRecord:
        return cls(r.id, r.requester, r.production, r.use, r.territory, r.request_date,
                   f"{r.model.name}:{r.model.version}", tuple(r.references or ()), tuple(r.people or ()),
                   r.prompt_sha256, as_utc(r.created_at))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "requester": self.requester, "production": self.production, "use": self.use,
                "territory": self.territory, "date": self.date, "model": self.model,
                "references": list(self.references), "people": list(self.people),
                "prompt_sha256": self.prompt_sha256, "created_at": self.created_at}


@dataclass(frozen=True)
class DecisionView:
    """A recorded decision with its evidence, duties and the policy it ran under."""

    id: int
    request: int
    outcome: Outcome
    policy: PolicyRef
    violations: tuple[Finding, ...]
    approvals: tuple[Finding, ...]
    duties: tuple[DutyDue, ...]
    inputs: Inputs
    created_at: datetime

    @classmethod
    def from_row(cls, d: DecisionRecord) -> DecisionView:
        pv: PolicyVersion = d.policy_version
        outcome = cast(Outcome, d.outcome)  # the column holds only what the engine decided
        return cls(d.id, d.request_id, outcome, PolicyRef(pv.uid, pv.version, pv.sha256),
                   tuple(Finding.from_dict(v) for v in d.violations or []),
                   tuple(Finding.from_dict(a) for a in d.approvals or []),
                   tuple(DutyDue.from_dict(x) for x in d.duties or []),
                   Inputs.from_records(d.inputs_digest, d.records or {}), as_utc(d.created_at))

    @property
    def credits(self) -> list[str]:
        """Distinct credit lines, in the order they first appear."""
        return list(dict.fromkeys(d.text for d in self.duties if d.text))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "request": self.request, "decision": self.outcome, "policy": self.policy.to_dict(),
                "violations": [v.to_dict() for v in self.violations],
                "approvals": [a.to_dict() for a in self.approvals],
                "duties": [x.to_dict() for x in self.duties], "credits": self.credits,
                "inputs": self.inputs.to_dict(), "created_at": self.created_at}


@dataclass(frozen=True)
class Decided:
    """A request and the decision it was given, as ``decide_request`` recorded them."""

    request: RequestRecord
    decision: DecisionView

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "decision": self.decision.to_dict()}


def _store(request: GenerationRequest, version: PolicyVersion, decision: Decision,
           facts: dict[str, Any]) -> DecisionRecord:
    """Record the decision; the request waits in the approval queue while this decision says so."""
    data = decision.to_dict()
    stored = DecisionRecord.create(
        request=request, policy_version=version, outcome=decision.outcome,
        violations=data["violations"], approvals=data["approvals"], duties=data["duties"],
        inputs_digest=decision.inputs.digest, records=decision.inputs.records_to_store(), facts=facts_to_store(facts),
        created_at=utcnow())
    settled(request.id)
    if stored.outcome == "needs_approval":
        AwaitingApproval.create(request_id=request.id, decision_id=stored.id, since=stored.created_at)
    return stored


def settled(request_id: int) -> None:
    """The request waits for sign-offs no more (approved, rejected, or decided again)."""
    AwaitingApproval.delete().where(AwaitingApproval.request_id == request_id).execute()


def decide_request(spec: RequestSpec, policy_uid: str | None = None, by: Principal | None = None) -> Decided:
    """Decide a request under the active policy and record both (without the prompt).

    ``by`` is the requester as authenticated: a producer names only records of their productions.
    The job, if any, is the lifecycle's to create (``governance.lifecycle.requests.submit``).
    """
    requester = (spec.requester or "").strip()
    if not requester:
        raise InvalidInput("name the requester")
    now = utcnow()
    with transaction():
        version = active_version(policy_uid)
        engine = compiled(version)
        if by is not None and not by.may_see_production(spec.production) \
                and not engine.policy.reads("requester.productions"):
            # membership is the policy's to decide, with evidence; a policy written before
            # requester facts existed says nothing of it, so it is refused here as it was then
            raise Forbidden(f"you are not a member of production '{spec.production}'",
                            hint="an admin can add you: slate user join NAME PRODUCTION")
        # checks every name before anything is stored
        facts = build_facts(spec, "", now.date(), by, training_facts_for(engine.policy))
        asked = facts["request"]
        request = GenerationRequest.create(
            requester=requester, production=asked["production"], use=asked["use"],
            territory=asked["territory"], request_date=date.fromisoformat(asked["date"]), model=get_model(spec.model),
            references=[e["asset"]["sha256"] for e in facts["references"]],
            people=sorted(p["person"]["name"] for p in facts["performers"] if p["depicted"]),
            prompt=spec.prompt, prompt_sha256=sha256_hex(spec.prompt.encode("utf-8")), created_at=now)
        asked["id"] = str(request.id)
        # the counters judged, locked until this decision commits (caps cannot be overrun)
        annotate(facts, lock=True)
        stored, entry = _judged(request, version, engine, facts)
        record("request.decided", f"request:{request.id}", {**entry, "prompt_sha256": request.prompt_sha256},
               actor=requester)
    return Decided(RequestRecord.from_row(request), DecisionView.from_row(stored))


def _judged(request: GenerationRequest, version: PolicyVersion, engine: CompiledPolicy,
            facts: dict[str, Any]) -> tuple[DecisionRecord, dict[str, Any]]:
    """Evaluate ``facts``, store the decision and take its uses, in the caller's transaction;
    returns the stored decision and what its audit entry says of it (a first decision's and a
    re-decision's entries add their own fields)."""
    decision = engine.evaluate(facts)
    stored = _store(request, version, decision, facts)
    reserve(facts, stored.id, decision.outcome)
    return stored, {"decision": decision.outcome, "policy": decision.policy.to_dict(),
                    "inputs_digest": decision.inputs.digest, "digest_scheme": decision.inputs.scheme,
                    "violated": decision.violated_rules}


def newer_policy(decision: DecisionRecord) -> PolicyVersion | None:
    """The version of the decision's policy published since it was decided, or None while the
    version it was decided under is still the published one (or none is published)."""
    current = active_row(decision.policy_version.uid)
    return current if current is not None and current.id != decision.policy_version_id else None


def decide_again(request: GenerationRequest, actor: str) -> DecisionView:
    """Decide a recorded request again, as of today, under its policy's published version; in the
    caller's transaction. A request decided under a version since replaced must not be signed
    under it: this is the one way on (the lifecycle's ``decide_again`` calls it for the API, the
    CLI and the approval page). The request is judged exactly as asked (its prompt, references
    and people as stored), with today's records; the uses the earlier decision took are given
    back first, so it never counts against its own caps."""
    previous = latest_decision(request)
    version = active_version(previous.policy_version.uid if previous is not None else None)
    engine = compiled(version)
    spec = RequestSpec(requester=request.requester, production=request.production, use=request.use,
                       territory=request.territory, model=f"{request.model.name}:{request.model.version}",
                       prompt=request.prompt, references=tuple(request.references or ()),
                       people=tuple(request.people or ()))
    if previous is not None:
        release(previous.id, f"request #{request.id} is decided again under "
                             f"{version.uid}@{version.version}", actor)
    # names were checked against the requester's productions when they asked: none is looked up again by them
    facts = build_facts(spec, str(request.id), utcnow().date(), None, training_facts_for(engine.policy))
    annotate(facts, lock=True)
    stored, entry = _judged(request, version, engine, facts)
    record("request.decided_again", f"request:{request.id}",
           {**entry, "previous": previous.id if previous is not None else None}, actor=actor)
    return DecisionView.from_row(stored)


def get_request(request_id: int | str) -> GenerationRequest:
    if not is_id(request_id):
        raise InvalidInput(f"'{request_id}' is not a request id (a number)")
    row = GenerationRequest.get_or_none(GenerationRequest.id == int(request_id))
    if row is None:
        raise NotFound(f"no request #{request_id} exists", hint="list them with: slate request list")
    return row


def latest_decision(request: GenerationRequest) -> DecisionRecord | None:
    return first(request.decisions.order_by(DecisionRecord.id.desc()))
