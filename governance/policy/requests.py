"""Generation requests and their decisions: submit, show, list.

Submitting stores the request and the decision the active policy gives it in one
transaction. The prompt is stored with the request and never returned: every output of
this module carries ``prompt_sha256`` instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import transaction
from ..errors import InvalidInput, NotFound
from ..principal import Principal
from ..registry.models_registry import get_model
from .decision import Decision
from .registry_facts import RequestSpec, build_facts
from .stored_facts import facts_to_store
from .tables import DecisionRecord, GenerationRequest, PolicyVersion
from .versions import active_version, compiled
from ..ids import is_id


def request_dict(r: GenerationRequest) -> dict[str, Any]:
    return {"id": r.id, "requester": r.requester, "production": r.production, "use": r.use,
            "territory": r.territory, "date": r.request_date, "model": f"{r.model.name}:{r.model.version}",
            "references": r.references, "people": r.people, "prompt_sha256": r.prompt_sha256,
            "created_at": r.created_at}


def decision_dict(d: DecisionRecord) -> dict[str, Any]:
    pv: PolicyVersion = d.policy_version
    return {"id": d.id, "request": d.request_id, "decision": d.outcome,
            "policy": {"uid": pv.uid, "version": pv.version, "sha256": pv.sha256},
            "violations": d.violations, "approvals": d.approvals, "duties": d.duties,
            "credits": list(dict.fromkeys(x["text"] for x in d.duties if x.get("text"))),
            "inputs": {"digest": d.inputs_digest, "records": d.records}, "created_at": d.created_at}


def _store(request: GenerationRequest, version: PolicyVersion, decision: Decision,
           facts: dict[str, Any]) -> DecisionRecord:
    data = decision.to_dict()
    return DecisionRecord.create(
        request=request, policy_version=version, outcome=decision.outcome,
        violations=data["violations"], approvals=data["approvals"], duties=data["duties"],
        inputs_digest=decision.inputs.digest, records=data["inputs"]["records"], facts=facts_to_store(facts),
        created_at=utcnow())


def submit_request(spec: RequestSpec, policy_uid: str | None = None, by: Principal | None = None) -> dict[str, Any]:
    """Decide a request under the active policy; store both; return them (without the prompt).

    ``by`` is the requester as authenticated: a producer names only records of their productions.
    """
    requester = (spec.requester or "").strip()
    if not requester:
        raise InvalidInput("name the requester")
    now = utcnow()
    with transaction():
        version = active_version(policy_uid)
        engine = compiled(version)
        facts = build_facts(spec, "", now.date(), by)  # checks every name before anything is stored
        asked = facts["request"]
        request = GenerationRequest.create(
            requester=requester, production=asked["production"], use=asked["use"],
            territory=asked["territory"], request_date=date.fromisoformat(asked["date"]), model=get_model(spec.model),
            references=[e["asset"]["sha256"] for e in facts["references"]],
            people=sorted(p["person"]["name"] for p in facts["performers"] if p["depicted"]),
            prompt=spec.prompt, prompt_sha256=sha256_hex(spec.prompt.encode("utf-8")), created_at=now)
        asked["id"] = str(request.id)
        decision = engine.evaluate(facts)
        stored = _store(request, version, decision, facts)
        record("request.decided", f"request:{request.id}",
               {"decision": decision.outcome, "policy": decision.policy.to_dict(),
                "prompt_sha256": request.prompt_sha256, "inputs_digest": decision.inputs.digest,
                "violated": decision.violated_rules}, actor=requester)
    return {"request": request_dict(request), "decision": decision_dict(stored)}


def get_request(request_id: int | str) -> GenerationRequest:
    if not is_id(request_id):
        raise InvalidInput(f"'{request_id}' is not a request id (a number)")
    row = GenerationRequest.get_or_none(GenerationRequest.id == int(request_id))
    if row is None:
        raise NotFound(f"no request #{request_id} exists", hint="list them with: slate request list")
    return row


def latest_decision(request: GenerationRequest) -> DecisionRecord | None:
    return request.decisions.order_by(DecisionRecord.id.desc()).first()


def show_request(request_id: int | str) -> dict[str, Any]:
    request = get_request(request_id)
    decision = latest_decision(request)
    return {"request": request_dict(request), "decision": decision_dict(decision) if decision else None}


def list_requests(limit: int = 100) -> list[dict[str, Any]]:
    query = (GenerationRequest.select().order_by(GenerationRequest.id.desc()).limit(limit))
    out = []
    for r in query:
        d = latest_decision(r)
        out.append({"id": r.id, "requester": r.requester, "production": r.production, "use": r.use,
                    "model": f"{r.model.name}:{r.model.version}",
                    "decision": d.outcome if d else None, "created_at": r.created_at})
    return out
