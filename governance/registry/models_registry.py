"""Model versions: identity (weights hash), lineage (training set, base model), status.

Only an ``approved`` model may serve requests (the policy checks it); ``retired`` is final.
"""

from __future__ import annotations

from typing import Any

import peewee

from ..audit.log import record
from ..clock import utcnow
from ..db import HotSelect, transaction
from ..errors import Conflict, InvalidInput
from ..ids import is_id
from ..principal import Principal
from . import attestations, lookup, scope
from . import vocabulary as vocab
from .base_models import get_base
from .merkle import HEX64
from .tables import BaseModelRecord, Model, TrainingSet
from .training_sets import get_training_set

_TRANSITIONS = {"registered": {"approved", "retired"}, "approved": {"retired"}, "retired": set()}


def model_dict(m: Model) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "version": m.version, "ref": f"{m.name}:{m.version}",
            "weights_hash": m.weights_hash, "base_model": m.base_model,
            "base": m.base.name if m.base is not None else None,
            "training_set": m.training_set.name if m.training_set is not None else None,
            "training_set_root": m.training_set.merkle_root if m.training_set is not None else None,
            "status": m.status, "status_reason": m.status_reason,
            "status_changed_at": m.status_changed_at, "path": m.path,
            "needs_retirement_review": m.needs_retirement_review, "created_at": m.created_at,
            "attested": attestations.attested(m), "training_run_id": m.training_run_id}


def register_model(name: str, version: str, weights_hash: str, *, training_set: str | None = None,
                   base_model: str | None = None, path: str | None = None,
                   by: Principal | None = None, base: str | None = None) -> dict[str, Any]:
    """Register a model version by its weights identity and training set (legal only).

    ``base`` links the registered base model it was trained from (``base_models``); the old
    free-text ``base_model`` is kept for display, and links the base it names exactly."""
    if by is not None:
        scope.require_legal(by, "register a model")
    name = vocab.name(name, "model")
    version = vocab.name(version, "model version")
    if ":" in name:
        raise InvalidInput("a model name may not contain ':' (refs are NAME:VERSION)")
    weights_hash = weights_hash.strip().lower()
    if len(weights_hash) != 64 or not set(weights_hash) <= HEX64:
        raise InvalidInput("the weights hash must be a SHA-256 hex digest (64 hex digits)")
    with transaction():
        if Model.select().where(Model.name == name, Model.version == version).exists():
            raise Conflict(f"model {name}:{version} is already registered",
                           hint="register new weights under a new version")
        ts = get_training_set(training_set) if training_set else None
        linked = _linked_base(base, base_model)
        base_model = base_model or (linked.name if linked else None)
        now = utcnow()
        model = Model.create(name=name, version=version, weights_hash=weights_hash,
                             base_model=base_model, base=linked, training_set=ts, path=path,
                             created_at=now, status_changed_at=now)
        record("model.registered", f"model:{name}:{version}",
               {"weights_hash": weights_hash, "training_set": ts.name if ts else None,
                "training_set_root": ts.merkle_root if ts else None, "base_model": base_model,
                "base": linked.name if linked else None,
                "base_weights_hash": linked.weights_hash if linked else None},
               by.name if by else None)
    return model_dict(model)


def _linked_base(base: str | None, text: str | None) -> BaseModelRecord | None:
    """The registered base ``base`` names (NotFound if none), else the one the free text names."""
    if base:
        return get_base(base)
    if text and text.strip():
        return BaseModelRecord.get_or_none(BaseModelRecord.name == text.strip())
    return None


#: a request, a claim and a signature each find their model by NAME:VERSION
_by_name_and_version: HotSelect[Model] = HotSelect(
    lambda name, version: Model.select().where(Model.name == name, Model.version == version).limit(1),
    Model.name, Model.version)


def get_model(ref: str | int) -> Model:
    """By ``name:version``, by id, or by name alone when only one version exists."""
    text = str(ref)
    model = None
    if ":" in text:
        name, version = text.rsplit(":", 1)
        model = _by_name_and_version.first(name, version)
    elif is_id(text):
        model = Model.get_or_none(Model.id == int(text))
    else:
        versions = list(Model.select().where(Model.name == text).limit(2))
        if len(versions) > 1:
            raise InvalidInput(f"model '{text}' has several versions; write NAME:VERSION")
        model = versions[0] if versions else None
    return lookup.found(model, f"no model '{ref}' is registered", hint="list them with: slate model list")


def show_model(ref: str | int) -> dict[str, Any]:
    return model_dict(get_model(ref))


def list_models() -> list[dict[str, Any]]:
    """Every model, by name and version, each with its base and training set read in the same
    query (the registry page lists them all: two more queries a model added up)."""
    query = (Model.select(Model, BaseModelRecord, TrainingSet).join(BaseModelRecord, peewee.JOIN.LEFT_OUTER)
             .switch(Model).join(TrainingSet, peewee.JOIN.LEFT_OUTER).order_by(Model.name, Model.version))
    return [model_dict(m) for m in query]


def set_status(ref: str | int, status: str, reason: str | None = None,
               by: Principal | None = None) -> dict[str, Any]:
    """Approve or retire a model (legal only)."""
    if by is not None:
        scope.require_legal(by, f"set a model's status to {status}")
    vocab.choose(status, vocab.MODEL_STATUSES, "model status")
    with transaction():
        model = get_model(ref)
        if status not in _TRANSITIONS[model.status]:
            raise Conflict(f"model {model.name}:{model.version} is {model.status}; it cannot become {status}")
        model.status, model.status_reason, model.status_changed_at = status, reason, utcnow()
        model.save()
        record(f"model.{status}", f"model:{model.name}:{model.version}", {"reason": reason},
               by.name if by else None)
    return model_dict(model)
