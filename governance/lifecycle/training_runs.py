"""Training a model as a governed request: asked for, decided, approved, run, attested, registered.

One path for the CLI (``slate model train``), the API (``/api/v1/training-runs``) and the pages:

1. ``request_run``: a producer of the production (or legal) asks for a run: production, base
   model, training set, method (``lora`` or ``full``), hyper-parameters, and the model name
   and version to register. The policy's ``training`` rules decide it on the set as a whole
   (``policy.training_facts``); the decision is kept with the run. ``deny`` ends it there.
2. ``approve``: the studio default routes every run to legal (``training-needs-legal``);
   a person holding the approval's role, never the one who asked, approves it and the run is
   queued (the queue message carries its uid; ``dispatch_training``).
3. A worker (generator token, enrolled key) ``claim``s it under a lease, gets its spec (the
   set's members as (sha256, licence ref), the base's identity, the approved values), posts
   ``progress`` (step, loss) which extends the lease, and ends it by ``fail`` or ``attest``.
4. ``attest`` checks the worker's signed attestation against the approved run: this worker
   holds the claim, its key is enrolled and approved and signed exactly these bytes, the
   Merkle root of the bytes its loader read is the set's root (otherwise the run FAILS and
   nothing is registered), the base is the registered base, method, hyper-parameters and
   seed are the approved ones. Slate then countersigns the attestation with its own key and
   registers the model ``attested``, in one transaction.

``register_attested_model`` is the same registration for the studio's own bundled build
(``slate model build-bundled``), run in-process by an operator: no approval, origin ``bundled``.
Nothing here reads a prompt; nothing leaves here with a key's private half.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping, Protocol

import peewee

from ..audit.log import record
from ..canonical import canonical_json
from ..clock import utcnow
from ..credentials.countersign import countersign
from ..credentials.keys import KeyStore
from ..credentials.model_signatures import sign_model_files
from ..db import transaction, tuples
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..policy.tables import PolicyVersion
from ..policy.training_facts import training_facts
from ..policy.versions import active_version, compiled
from ..principal import Principal
from ..provenance import model_card
from ..registry import base_models, models_registry, scope
from ..registry import vocabulary as vocab
from ..registry.tables import Asset, Licence, Model, TrainingRun, TrainingSet, TrainingSetMember
from ..registry.training_sets import get_training_set
from ..workers.attestations import SignedAttestation
from ..workers.enrolment import signing_key
from ..workers.receipts import decode_public_key
from ..workers.receipts import key_id as worker_key_id
from .training_params import METHODS, TrainingParams

DENIED, NEEDS_APPROVAL, QUEUED, RUNNING, FAILED, REGISTERED = (
    "denied", "needs_approval", "queued", "running", "failed", "registered")
STATUSES = (DENIED, NEEDS_APPROVAL, QUEUED, RUNNING, FAILED, REGISTERED)
FINISHED = (DENIED, FAILED, REGISTERED)
REQUEST, BUNDLED = "request", "bundled"
#: who may ask for a run: the production's producers, or legal (the policy decides, with evidence)
REQUESTERS = ("producer", "legal")
#: how long a claim holds a run without progress; each progress report extends it
LEASE = timedelta(minutes=10)
MAX_REASON = 2000
#: where the run keeps Slate's OpenSSF model signature: beside Slate's countersignature in
#: ``training_run.slate_signature`` (both are Slate's signatures over this run's attestation)
KEPT_MODEL_SIGNATURE = "model_signature"
#: who may fetch a registered run's model signature besides the worker that attested it
SIGNATURE_READERS = ("legal", "auditor")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TrainingDispatcher(Protocol):
    """What the lifecycle needs of a queue to send a run (``jobs.queue.Queue`` is one)."""

    def enqueue_training(self, run_uid: str) -> None: ...


@dataclass(frozen=True)
class TrainingRequest:
    """A training run as a requester asks for it: the same fields from the CLI, the API and a page."""

    production: str
    training_set: str
    method: str
    model_name: str
    model_version: str
    base: str | None = None
    territory: str = "WW"
    params: TrainingParams = TrainingParams()  # noqa: RUF009 - frozen, so one shared default is safe

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> TrainingRequest:
        return cls(body["production"], body["training_set"], body["method"], body["model"]["name"],
                   body["model"]["version"], body.get("base"), body.get("territory") or "WW",
                   TrainingParams.from_dict(body.get("hyperparameters")))


@dataclass(frozen=True)
class TrainingRunView:
    """A run as its requester, legal and the workers see it: never a key's private half."""

    uid: str
    origin: str
    production: str
    territory: str
    base: dict[str, Any] | None
    training_set: dict[str, Any]
    method: str
    hyperparameters: dict[str, Any]
    model: dict[str, Any]
    requested_by: str
    status: str
    decision: dict[str, Any]
    approved_by: str | None
    approved_at: datetime | None
    worker: str | None
    lease_expires_at: datetime | None
    progress: dict[str, Any]
    failure: str | None
    attestation: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: TrainingRun) -> TrainingRunView:
        ts: TrainingSet = row.training_set
        registered: Model | None = row.model
        attestation = None
        if row.attestation:
            countersigned = {k: v for k, v in (row.slate_signature or {}).items() if k != KEPT_MODEL_SIGNATURE}
            attestation = {"sha256": row.attestation_sha256, "worker_key_id": row.worker_key_id,
                           "worker_signature": row.worker_signature, "slate_signature": countersigned,
                           "body": _loads(row.attestation)}
        return cls(row.uid, row.origin, row.production, row.territory, _base_view(row.base_id),
                   {"name": ts.name, "merkle_root": ts.merkle_root, "size": ts.size}, row.method,
                   dict(row.hyperparameters or {}),
                   {"name": row.model_name, "version": row.model_version,
                    "ref": f"{registered.name}:{registered.version}" if registered else None},
                   row.requested_by, row.status, dict(row.decision or {}), row.approved_by, row.approved_at,
                   row.worker, row.lease_expires_at,
                   {"step": row.step, "total_steps": row.total_steps, "loss": row.loss,
                    "updated_at": row.updated_at},
                   row.failure, attestation, row.created_at, row.updated_at)

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _loads(text: str) -> dict[str, Any]:
    import json
    value: dict[str, Any] = json.loads(text)
    return value


def _base_view(base_id: int | None) -> dict[str, Any] | None:
    if base_id is None:
        return None
    row = base_models.get_base(base_id)
    return {"name": row.name, "weights_hash": row.weights_hash, "status": row.status}


def _clean(text: str, most: int = MAX_REASON) -> str:
    return _CONTROL.sub(" ", str(text or "")).strip()[:most]


# ---------------------------------------------------------------- asking and deciding

def _decision_record(version: PolicyVersion, decision: Any, facts: dict[str, Any]) -> dict[str, Any]:
    data = decision.to_dict()
    return {"outcome": decision.outcome, "policy": {"uid": version.uid, "version": version.version,
                                                    "sha256": version.sha256},
            "violations": data["violations"], "approvals": data["approvals"], "duties": data["duties"],
            "inputs_digest": decision.inputs.digest, "facts": facts, "decided_at": utcnow()}


def request_run(asked: TrainingRequest, by: Principal, *, dispatcher: TrainingDispatcher | None = None,
                policy_uid: str | None = None) -> TrainingRunView:
    """Decide a training run under the active policy and record it with its decision.

    ``deny``: recorded as denied, with the evidence; ``needs_approval``: waits for the
    approver the policy names; ``allow`` (a policy with no approval rule for training):
    queued at once.
    """
    if not by.has_any(REQUESTERS):
        raise Forbidden("only a producer of the production or legal may ask for a training run")
    if not by.may_see_production(asked.production):
        raise Forbidden(f"you are not a member of production '{asked.production}'",
                        hint="an admin can add you: slate user join NAME PRODUCTION")
    if asked.method not in METHODS:
        raise InvalidInput(f"the training method is one of {', '.join(METHODS)}", fields={"method": "unknown"})
    params = asked.params.for_method(asked.method)
    territory = vocab.territories([asked.territory])[0]
    name = vocab.name(asked.model_name, "model")
    version = vocab.name(asked.model_version, "model version")
    if ":" in name:
        raise InvalidInput("a model name may not contain ':' (refs are NAME:VERSION)")
    uid = "run_" + uuid.uuid4().hex
    with transaction():
        _reserve(name, version)
        ts = get_training_set(asked.training_set)
        base_row = base_models.get_base(asked.base) if asked.base else None
        policy = active_version(policy_uid)
        facts = training_facts(run=uid, requester=by.name, production=asked.production, territory=territory,
                               day=utcnow().date(), base=base_models.base_facts(base_row), method=asked.method,
                               params=params.to_dict(), training_set=ts, model=f"{name}:{version}", by=by)
        decision = compiled(policy).evaluate_training(facts)
        status = {"deny": DENIED, "needs_approval": NEEDS_APPROVAL, "allow": QUEUED}[decision.outcome]
        now = utcnow()
        row = TrainingRun.create(uid=uid, origin=REQUEST, production=asked.production, territory=territory,
                                 base=base_row, training_set=ts, method=asked.method,
                                 hyperparameters=params.to_dict(), model_name=name, model_version=version,
                                 requested_by=by.name, status=status,
                                 decision=_decision_record(policy, decision, facts), created_at=now, updated_at=now)
        record("training_run.requested", f"training_run:{uid}",
               {"decision": decision.outcome, "policy": f"{policy.uid}@{policy.version}",
                "training_set": ts.name, "training_set_root": ts.merkle_root,
                "base": base_row.name if base_row else None, "method": asked.method,
                "model": f"{name}:{version}", "inputs_digest": decision.inputs.digest}, by.name)
    if status == QUEUED:
        dispatch_training(dispatcher, uid)
    return TrainingRunView.from_row(row)


def _reserve(name: str, version: str, run_id: int | None = None) -> None:
    """Refuse a model name:version that is registered or that another unfinished run will
    register (caller's transaction): two runs for one name could otherwise both train, and
    the second's attestation could never register (``attest`` fails it, but the GPU time is lost)."""
    if Model.select().where(Model.name == name, Model.version == version).exists():
        raise Conflict(f"model {name}:{version} is already registered", hint="train it under a new version")
    others = TrainingRun.select(TrainingRun.uid).where(
        TrainingRun.model_name == name, TrainingRun.model_version == version,
        TrainingRun.status.not_in(FINISHED))
    if run_id is not None:
        others = others.where(TrainingRun.id != run_id)
    other = others.first()
    if other is not None:
        raise Conflict(f"model {name}:{version} is already being trained by run {other.uid}",
                       hint="train it under a new version, or wait for that run to end")


def get_run(uid: str) -> TrainingRun:
    row = None
    if isinstance(uid, str) and len(uid) <= 40:
        row = TrainingRun.get_or_none(TrainingRun.uid == uid)
    if row is None:
        raise _no_such_run(uid)
    return row


def _no_such_run(uid: object) -> NotFound:
    """The one answer for a run that does not exist and for one the asker may not see."""
    return NotFound(f"no training run '{str(uid)[:40]}' exists", hint="list them with: slate model runs")


def _visible(row: TrainingRun, by: Principal | None) -> bool:
    return by is None or by.may_see_production(row.production)


def model_attestation(model: Model) -> dict[str, Any] | None:
    """What a model card says of how the model was made (``provenance.model_card``)."""
    return model_card.attestation_of(model)


def show_run(uid: str, by: Principal | None = None) -> TrainingRunView:
    row = get_run(uid)
    if not _visible(row, by):  # a producer of another production learns nothing of it
        raise _no_such_run(uid)
    return TrainingRunView.from_row(row)


def list_runs(by: Principal | None = None, status: str | None = None) -> list[TrainingRunView]:
    query = TrainingRun.select().order_by(TrainingRun.created_at.desc(), TrainingRun.id.desc())
    if status:
        query = query.where(TrainingRun.status == vocab.choose(status, STATUSES, "training run status"))
    if scope.confined(by):
        query = query.where(TrainingRun.production.in_(sorted(by.productions)))
    return [TrainingRunView.from_row(r) for r in query]


def approve(uid: str, by: Principal, comment: str = "", *,
            dispatcher: TrainingDispatcher | None = None) -> TrainingRunView:
    """Approve a run the policy sent for approval; it is queued once committed.

    Refused: anyone but a holder of every approval's role (403), the person who asked for it
    (403: four eyes), a run not waiting for approval (409).
    """
    with transaction():
        row = get_run(uid)
        if row.status != NEEDS_APPROVAL:
            raise Conflict(f"training run {uid} is {row.status}; only a run waiting for approval can be approved")
        if by.name == row.requested_by:
            raise Forbidden("the person who asked for a training run cannot approve it",
                            hint="another legal user approves it")
        _reserve(row.model_name, row.model_version, row.id)
        for finding in (row.decision or {}).get("approvals") or []:
            roles = set((finding.get("approvers") or {}).get("roles") or ["legal"])
            if not by.has_any(roles):
                raise Forbidden(f"rule {finding.get('rule')} needs the sign-off of one of: {', '.join(sorted(roles))}")
        now = utcnow()
        updated = (TrainingRun.update(status=QUEUED, approved_by=by.name, approved_at=now, updated_at=now)
                   .where(TrainingRun.id == row.id, TrainingRun.status == NEEDS_APPROVAL).execute())
        if not updated:
            raise Conflict(f"training run {uid} was decided by someone else just now")
        record("training_run.approved", f"training_run:{uid}", {"comment": _clean(comment, 500)}, by.name)
    dispatch_training(dispatcher, uid)
    return TrainingRunView.from_row(get_run(uid))


def dispatch_training(dispatcher: TrainingDispatcher | None, uid: str) -> bool:
    """Send a just-committed queued run to the workers; a queue that cannot be reached fails
    nothing (``requeue_training`` sends it again)."""
    if dispatcher is None:
        return False
    try:
        dispatcher.enqueue_training(uid)
    except Exception:  # noqa: BLE001 - any queue failure; the run is safe in the database
        return False
    return True


def requeue_training(dispatcher: TrainingDispatcher) -> int:
    """Send again every queued run and every running run whose lease lapsed."""
    now = utcnow()
    uids = [r.uid for r in TrainingRun.select(TrainingRun.uid).where(
        (TrainingRun.status == QUEUED) | ((TrainingRun.status == RUNNING) & (TrainingRun.lease_expires_at < now)))]
    return sum(dispatch_training(dispatcher, uid) for uid in uids)


# ---------------------------------------------------------------- the worker's side

def _lapsed(now: datetime) -> peewee.Expression:
    return TrainingRun.lease_expires_at.is_null() | (TrainingRun.lease_expires_at < now)


def _not_yours(row: TrainingRun) -> Conflict:
    if row.status in FINISHED:
        return Conflict(f"training run {row.uid} is already {row.status}", hint="there is nothing left to do for it")
    return Conflict(f"training run {row.uid} is not claimed by this worker: claim it first",
                    hint=f"POST /api/v1/training-runs/{row.uid}/claim")


def _held(uid: str, worker: str) -> TrainingRun:
    row = get_run(uid)
    if row.status != RUNNING or row.worker != worker:
        raise _not_yours(row)
    return row


def _spec(row: TrainingRun) -> dict[str, Any]:
    ts: TrainingSet = row.training_set
    members = [{"sha256": sha, "licence": ref} for sha, ref in
               tuples(TrainingSetMember.select(Asset.sha256, Licence.ref).join(Asset)
                      .switch(TrainingSetMember).join(Licence)
                      .where(TrainingSetMember.training_set == ts.id).order_by(Asset.sha256))]
    base = None
    if row.base_id is not None:
        b = base_models.get_base(row.base_id)
        base = {"name": b.name, "weights_hash": b.weights_hash, "path": b.path}
    params = dict(row.hyperparameters or {})
    return {"production": row.production, "method": row.method, "hyperparameters": params,
            "seed": params.get("seed", 0), "base": base,
            "training_set": {"name": ts.name, "merkle_root": ts.merkle_root, "size": ts.size, "members": members},
            "model": {"name": row.model_name, "version": row.model_version}}


def _refusals_now(row: TrainingRun) -> list[str]:
    """The training rules the run would break if asked for now (a licence taken down, a
    consent revoked, a base retired since legal approved it), as their titles."""
    base_row = base_models.get_base(row.base_id) if row.base_id is not None else None
    facts = training_facts(run=row.uid, requester=row.requested_by, production=row.production,
                           territory=row.territory, day=utcnow().date(), base=base_models.base_facts(base_row),
                           method=row.method, params=dict(row.hyperparameters or {}), training_set=row.training_set,
                           model=f"{row.model_name}:{row.model_version}")
    policy = PolicyVersion.get_or_none(PolicyVersion.uid == (row.decision or {}).get("policy", {}).get("uid"),
                                       PolicyVersion.status == "published")
    decision = compiled(policy or active_version()).evaluate_training(facts)
    return [v.title for v in decision.violations]


def claim(uid: str, worker: Principal, lease: timedelta = LEASE) -> dict[str, Any]:
    """Take a queued run (or one whose lease lapsed, or one this worker holds) under a lease,
    in one conditional UPDATE; return ``{run, lease_expires_at, spec}``.

    The run is decided again first, under the published policy: a member's licence taken down,
    a consent revoked or a base retired since legal approved it fails the run (409) before any
    worker reads a byte of the set.
    """
    refusal: Conflict | None = None
    with transaction():
        row = get_run(uid)
        now = utcnow()
        taken = (TrainingRun.update(status=RUNNING, worker=worker.name, lease_expires_at=now + lease,
                                    attempts=TrainingRun.attempts + 1, updated_at=now)
                 .where(TrainingRun.id == row.id,
                        (TrainingRun.status == QUEUED)
                        | ((TrainingRun.status == RUNNING) & (_lapsed(now) | (TrainingRun.worker == worker.name))))
                 .execute())
        if not taken:
            row = get_run(uid)
            if row.status == RUNNING:
                raise Conflict(f"training run {uid} is claimed by another worker", hint="skip it")
            if row.status == NEEDS_APPROVAL:
                raise Conflict(f"training run {uid} waits for legal's approval")
            raise _not_yours(row)
        record("training_run.claimed", f"training_run:{uid}", {"lease_expires_at": now + lease}, worker.name)
        row = get_run(uid)
        broken = _refusals_now(row) if row.origin == REQUEST else []
        if broken:
            reason = "the training set is no longer cleared: " + "; ".join(broken)
            _fail(row, reason, worker.name)
            refusal = Conflict(f"training run {uid} cannot run: {reason}", hint="legal reviews the set and asks again")
    if refusal is not None:  # raised after the commit: the run stays failed
        raise refusal
    return {"run": uid, "lease_expires_at": row.lease_expires_at, "spec": _spec(row)}


def _whole(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{what} is a whole number from {low} to {high}", fields={what: "out of range"})
    return value


def progress(uid: str, worker: Principal, step: object, total_steps: object, loss: object,
             lease: timedelta = LEASE) -> TrainingRunView:
    """Record how far the run is (step, total steps, loss) and extend the lease."""
    with transaction():
        row = _held(uid, worker.name)
        total = _whole(total_steps, "total_steps", 1, 10_000_000)
        done = _whole(step, "step", 0, total)
        if not isinstance(loss, (int, float)) or isinstance(loss, bool) or loss != loss or abs(loss) > 1e12:
            raise InvalidInput("loss is a finite number", fields={"loss": "not a finite number"})
        now = utcnow()
        TrainingRun.update(step=done, total_steps=total, loss=float(loss), lease_expires_at=now + lease,
                           updated_at=now).where(TrainingRun.id == row.id).execute()
    return TrainingRunView.from_row(get_run(uid))


def fail(uid: str, worker: Principal, reason: str) -> TrainingRunView:
    """The worker ends the run without a model (its reason is kept, cleaned and bounded)."""
    with transaction():
        row = _held(uid, worker.name)
        _fail(row, _clean(reason) or "no reason given", worker.name)
    return TrainingRunView.from_row(get_run(uid))


def _fail(row: TrainingRun, reason: str, actor: str | None) -> None:
    now = utcnow()
    TrainingRun.update(status=FAILED, failure=reason, lease_expires_at=None, updated_at=now).where(
        TrainingRun.id == row.id).execute()
    record("training_run.failed", f"training_run:{row.uid}", {"reason": reason}, actor)


# ---------------------------------------------------------------- the attestation

def _mismatches(row: TrainingRun, body: Mapping[str, Any]) -> list[str]:
    """Each way the attestation differs from the approved run, in words (the root apart)."""
    ts: TrainingSet = row.training_set
    params = dict(row.hyperparameters or {})
    found = []
    if body["run"] != row.uid:
        found.append(f"it names run {str(body['run'])[:40]}, not {row.uid}")
    if body["training_set"]["name"] != ts.name or body["training_set"]["size"] != ts.size:
        found.append(f"it names training set {str(body['training_set']['name'])[:200]} of "
                     f"{body['training_set']['size']} files, not {ts.name} of {ts.size}")
    if body["method"] != row.method:
        found.append(f"method {str(body['method'])[:10]} is not the approved {row.method}")
    if dict(body["hyperparameters"]) != params:
        changed = sorted(k for k in set(params) | set(body["hyperparameters"])
                         if params.get(k) != body["hyperparameters"].get(k))
        found.append(f"hyper-parameters {', '.join(changed)[:300]} are not the approved ones")
    if body["seed"] != params.get("seed", 0):
        found.append(f"seed {body['seed']} is not the approved {params.get('seed', 0)}")
    expected_base = None
    if row.base_id is not None:
        b = base_models.get_base(row.base_id)
        expected_base = {"name": b.name, "weights_hash": b.weights_hash}
    if (dict(body["base"]) if body["base"] is not None else None) != expected_base:
        found.append("the base it names is not the registered base of the approved run "
                     f"({expected_base['name'] if expected_base else 'none'})")
    return found


def _store_attestation(row: TrainingRun, signed: SignedAttestation, slate_signature: dict[str, Any],
                       actor: str | None, model_signature: str = "") -> Model:
    """Register the model from the checked run and record the attestation (caller's transaction)."""
    body = signed.body
    base_name = base_models.get_base(row.base_id).name if row.base_id is not None else None
    registered = models_registry.register_model(
        row.model_name, row.model_version, body["output"]["weights_hash"], training_set=row.training_set.name,
        base=base_name)
    Model.update(attested=True, training_run_id=row.id).where(Model.id == registered["id"]).execute()
    now = utcnow()
    TrainingRun.update(status=REGISTERED, attestation=canonical_json(body).decode("utf-8"),
                       attestation_sha256=signed.sha256, worker_key_id=signed.key_id,
                       worker_signature=signed.to_dict()["signature"],
                       slate_signature={**slate_signature, KEPT_MODEL_SIGNATURE: model_signature},
                       model=registered["id"], lease_expires_at=None, updated_at=now,
                       step=body["metrics"].get("steps") if isinstance(body["metrics"].get("steps"), int) else row.step
                       ).where(TrainingRun.id == row.id).execute()
    record("training_run.registered", f"training_run:{row.uid}",
           {"model": f"{row.model_name}:{row.model_version}", "weights_hash": body["output"]["weights_hash"],
            "attestation_sha256": signed.sha256, "worker_key_id": signed.key_id,
            "slate_key": slate_signature["key"], "training_set_root": body["training_set"]["merkle_root"]}, actor)
    return Model.get_by_id(registered["id"])


def _register(row: TrainingRun, signed: SignedAttestation, keys: KeyStore, actor: str | None) -> Registered:
    """Countersign the checked attestation with Slate's key and register the model (caller's transaction)."""
    keys.ensure()
    slate_signature = countersign(signed.signed_bytes(), keys.file_signer(keys.active_key()))
    # Slate's OpenSSF model signature over the files the worker attested, for the model folder
    # (``model.sig``): what a worker holding Slate's model-signing key verifies before loading it
    model_signature = sign_model_files(dict(signed.body["output"]["files"]), keys_dir=keys.dir,
                                       model_name=row.model_name)
    # kept with the run in the same transaction: a worker whose answer was lost after the commit
    # fetches it again (``model_signature``) instead of holding a model nobody can load
    model = _store_attestation(row, signed, slate_signature, actor, model_signature.decode("utf-8"))
    return Registered(f"{model.name}:{model.version}", model.weights_hash, slate_signature["signature"],
                      slate_signature["key"], signed.sha256, model_signature.decode("utf-8"))


def model_signature(uid: str, by: Principal) -> Registered:
    """The attest answer of a registered run again, with Slate's kept model signature: for the
    worker that attested it (its answer may have been lost after the commit), legal and auditors.

    Refused: any other user (403; another generator learns nothing of whose run it is), a run
    that is not registered (409: there is no signature yet, or there never will be).
    """
    row = get_run(uid)
    if not (by.has_any(SIGNATURE_READERS) or (by.has_any(("generator",)) and row.worker == by.name)):
        raise Forbidden("only the worker that attested a run, legal and auditors may fetch its model signature")
    kept = dict(row.slate_signature or {})
    if row.status != REGISTERED or row.model is None:
        raise Conflict(f"training run {uid} is {row.status}; only a registered run has a model signature")
    model: Model = row.model
    return Registered(f"{model.name}:{model.version}", model.weights_hash, str(kept.get("signature") or ""),
                      str(kept.get("key") or ""), row.attestation_sha256 or "",
                      str(kept.get(KEPT_MODEL_SIGNATURE) or ""))


@dataclass(frozen=True)
class Registered:
    """What a worker learns when its attestation is accepted."""

    model: str
    weights_hash: str
    slate_signature: str
    slate_key: str
    attestation_sha256: str
    #: Slate's OpenSSF model signature (a Sigstore bundle, JSON) the worker writes as ``model.sig``
    model_signature: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "weights_hash": self.weights_hash, "slate_signature": self.slate_signature,
                "slate_key": self.slate_key, "attestation_sha256": self.attestation_sha256,
                "model_signature": self.model_signature}


def attest(uid: str, worker: Principal, attestation: object, key: object, signature: object,
           keys: KeyStore) -> Registered:
    """Check a worker's attestation against its approved run; countersign it and register the
    model, attested, in one transaction.

    Refused with nothing changed: malformed (422), a worker not holding the claim (409), a key
    not enrolled and approved for this worker or a signature that does not verify (403), values
    that are not the approved run's (409). A root that is not the set's root FAILS the run
    (committed, audited) and registers nothing (409): the worker trained on other bytes. So
    does a set no longer cleared (the run is decided again, as at its claim: a licence taken
    down or a consent revoked while it trained) and a model name:version registered meanwhile.
    """
    signed = SignedAttestation.parse(attestation, key, signature)
    outcome: Registered | Conflict
    with transaction():
        row = _held(uid, worker.name)
        signed.verify(signing_key(signed.key_id, worker.name))
        wrong = _mismatches(row, signed.body)
        if wrong:
            raise Conflict("the attestation is not of the approved run: " + "; ".join(wrong),
                           hint="train exactly the run's spec (POST .../claim returns it)")
        root = signed.body["training_set"]["merkle_root"]
        broken = _refusals_now(row) if row.origin == REQUEST else []
        taken = Model.select().where(Model.name == row.model_name, Model.version == row.model_version).exists()
        if root != row.training_set.merkle_root:
            reason = (f"the Merkle root of the files the worker read ({root[:16]}…) is not the training set's "
                      f"root ({row.training_set.merkle_root[:16]}…): it trained on files outside the registered "
                      "set, or without some of them; nothing was registered")
            _fail(row, reason, worker.name)
            outcome = Conflict(reason, hint="train only on the registered set's files (the spec lists them)")
        elif broken:  # a takedown or revocation while it trained: decided again before anything is registered
            reason = "the training set is no longer cleared: " + "; ".join(broken) + "; nothing was registered"
            _fail(row, reason, worker.name)
            outcome = Conflict(f"training run {uid} cannot be registered: {reason}",
                               hint="legal reviews the set and asks again")
        elif taken:  # registered by hand meanwhile: failing the run ends it (a rollback would requeue it forever)
            reason = f"model {row.model_name}:{row.model_version} was registered meanwhile; nothing was registered"
            _fail(row, reason, worker.name)
            outcome = Conflict(f"training run {uid} cannot be registered: {reason}",
                               hint="ask for a run under a new version")
        else:
            outcome = _register(row, signed, keys, worker.name)
    if isinstance(outcome, Conflict):  # raised after the commit: the run stays failed
        raise outcome
    return outcome


def register_attested_model(attestation: Mapping[str, Any], *, key_id: str, signature: str,
                            run: str | None = None, by: Principal | None = None, keys: KeyStore | None = None,
                            model: str | None = None, public_key: str | None = None) -> Registered:
    """Register a model from a signed attestation, in-process.

    With ``run``: that run's worker attests it (``attest``; ``by`` is the worker). Without:
    the studio's own bundled build by an operator, which needs no approval: a run of origin
    ``bundled`` is recorded for ``model`` ("NAME:VERSION") on the training set the attestation
    names, and the attestation is checked against the worker key ``public_key`` (base64 raw
    Ed25519, whose id must be ``key_id``) and the set's root exactly as a worker's is.
    """
    if keys is None:
        raise InvalidInput("registering an attested model needs Slate's keys (keys=KeyStore(settings))")
    if run is not None:
        if by is None:
            raise InvalidInput("name the worker that holds the run (by=)")
        return attest(run, by, attestation, key_id, signature, keys)
    if not model or ":" not in model:
        raise InvalidInput("the bundled build names the model to register (model='NAME:VERSION')")
    raw = decode_public_key(public_key or "")
    if worker_key_id(raw) != key_id:
        raise Forbidden("key_id is not the id of the public key given")
    signed = SignedAttestation.parse(attestation, key_id, signature)
    signed.verify(raw)
    name, version = model.rsplit(":", 1)
    body = signed.body
    with transaction():
        ts = get_training_set(str(body["training_set"]["name"]))
        if body["training_set"]["merkle_root"] != ts.merkle_root or body["training_set"]["size"] != ts.size:
            raise Conflict(f"the bundled build read files whose root is not training set {ts.name}'s; "
                           "nothing was registered")
        base_row = base_models.get_base(body["base"]["name"]) if body["base"] else None
        if base_row is not None and base_row.weights_hash != body["base"]["weights_hash"]:
            raise Conflict(f"the bundled build's base is not registered base {base_row.name}'s weights")
        now = utcnow()
        row = TrainingRun.create(uid="run_" + uuid.uuid4().hex, origin=BUNDLED, production="studio", territory="WW",
                                 base=base_row, training_set=ts,
                                 method=str(body["method"])[:10], hyperparameters=dict(body["hyperparameters"]),
                                 model_name=name, model_version=version, requested_by=by.name if by else "operator",
                                 status=RUNNING, decision={"outcome": "bundled", "note": "the studio's own build"},
                                 worker=by.name if by else "operator", created_at=now, updated_at=now)
        return _register(row, signed, keys, by.name if by else None)
