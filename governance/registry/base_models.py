"""Base models: the published models studio models are trained from, and legal's standing for each.

A LoRA or a fine-tune inherits whatever its base was trained on, so a studio model is only
as clean as its base. Legal registers each base by its weights identity with its licence and
its maker's training-data statement, and gives it a standing: ``approved`` (any use),
``restricted`` (until legal has read its terms: not for final frames or marketing), or
``retired`` (final: no use). The policy reads a model's base through ``base_facts``; this
module never decides a request itself.
"""

from __future__ import annotations

from typing import Any

from ..audit.log import record
from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict, InvalidInput
from ..principal import Principal
from . import attestations, lookup, scope
from . import vocabulary as vocab
from .merkle import HEX64
from .tables import BASE_STATUSES, BaseModelRecord, Model

#: what each standing may become; ``retired`` is final, like a model's
_TRANSITIONS = {"restricted": {"approved", "retired"}, "approved": {"restricted", "retired"}, "retired": set()}
#: the ``base_status`` facts of a model with no registered base: free text naming none, or no base at all
UNREGISTERED, NONE, UNDECLARED = "unregistered", "none", "undeclared"
_TEXT_MAX = 20_000


def base_dict(row: BaseModelRecord) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "weights_hash": row.weights_hash, "licence": row.licence,
            "licence_url": row.licence_url, "training_data": row.training_data, "status": row.status,
            "status_reason": row.status_reason, "status_changed_at": row.status_changed_at,
            "path": row.path, "created_at": row.created_at, "registered_by": row.registered_by}


def _weights_hash(value: str) -> str:
    value = (value or "").strip().lower()
    if len(value) != 64 or not set(value) <= HEX64:
        raise InvalidInput("a base model's weights hash must be a SHA-256 hex digest (64 hex digits)")
    return value


def _text(value: str | None, what: str, limit: int = _TEXT_MAX) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"a base model needs its {what}")
    if len(text) > limit:
        raise InvalidInput(f"a base model's {what} may hold at most {limit} characters")
    return text


def register_base(name: str, weights_hash: str, *, licence: str, training_data: str,
                  licence_url: str | None = None, status: str = "restricted", path: str | None = None,
                  by: Principal | None = None) -> dict[str, Any]:
    """Register a base model by its weights identity, licence and the maker's training-data
    statement (legal only). It starts ``restricted`` unless legal says otherwise: a base
    nobody has read the terms of must not reach a final frame."""
    if by is not None:
        scope.require_legal(by, "register a base model")
    name = vocab.name(name, "base model")
    weights_hash = _weights_hash(weights_hash)
    licence = _text(licence, "licence (e.g. CreativeML OpenRAIL-M)", 300)
    training_data = _text(training_data, "maker's training-data statement")
    licence_url = (licence_url or "").strip() or None
    if licence_url is not None and (len(licence_url) > 1000 or not licence_url.startswith(("https://", "http://"))):
        raise InvalidInput("a base model's licence URL must be an http(s) address of at most 1000 characters")
    vocab.choose(status, BASE_STATUSES[:2], "status for a new base model")
    with transaction():
        if BaseModelRecord.select().where(BaseModelRecord.name == name).exists():
            raise Conflict(f"base model '{name}' is already registered",
                           hint="register different weights under a new name")
        now = utcnow()
        row = BaseModelRecord.create(name=name, weights_hash=weights_hash, licence=licence,
                                     licence_url=licence_url, training_data=training_data, status=status,
                                     status_changed_at=now, path=path, created_at=now,
                                     registered_by=by.name if by else None)
        record("base_model.registered", f"base_model:{name}",
               {"weights_hash": weights_hash, "licence": licence, "status": status}, by.name if by else None)
    return base_dict(row)


def get_base(ref: str | int) -> BaseModelRecord:
    return lookup.by_name_or_id(BaseModelRecord, BaseModelRecord.name, ref,
                                missing=f"no base model '{ref}' is registered",
                                hint="list them with: slate base list; legal registers one with: slate base register")


def show_base(ref: str | int) -> dict[str, Any]:
    return base_dict(get_base(ref))


def list_bases() -> list[dict[str, Any]]:
    return [base_dict(b) for b in BaseModelRecord.select().order_by(BaseModelRecord.name)]


def set_base_status(name: str | int, status: str, reason: str | None = None,
                    by: Principal | None = None) -> dict[str, Any]:
    """Approve, restrict or retire a base model (legal only); retired is final."""
    if by is not None:
        scope.require_legal(by, f"set a base model's status to {status}")
    vocab.choose(status, BASE_STATUSES, "base model status")
    with transaction():
        row = get_base(name)
        if status not in _TRANSITIONS[row.status]:
            raise Conflict(f"base model {row.name} is {row.status}; it cannot become {status}",
                           hint="register a retired base's weights again under a new name" if row.status == "retired"
                           else None)
        row.status, row.status_reason, row.status_changed_at = status, (reason or "").strip() or None, utcnow()
        row.save()
        record(f"base_model.{status}", f"base_model:{row.name}", {"reason": row.status_reason},
               by.name if by else None)
    return base_dict(row)


def base_of(model: Model) -> BaseModelRecord | None:
    """The registered base a model was trained from: the one it links, else the one its old
    free-text ``base_model`` names exactly (a model registered before its base was)."""
    if model.base_id is not None:
        return model.base
    text = (model.base_model or "").strip()
    return BaseModelRecord.get_or_none(BaseModelRecord.name == text) if text else None


def model_base_facts(model: Model) -> dict[str, Any]:
    """A model's base as decisions and model cards read it: ``base_facts`` of its base, except
    that "trained from scratch" (``none``) is only what an accepted attestation shows; a model
    registered by hash naming no base is ``undeclared`` (it may be a LoRA on anything), which a
    policy can refuse."""
    facts = base_facts(base_of(model), model.base_model)
    if facts["status"] == NONE and not attestations.attested(model):
        facts["status"] = UNDECLARED
    return facts


def base_facts(row: BaseModelRecord | None, legacy_text: str | None = None) -> dict[str, Any]:
    """What the policy knows of a model's base (``model.base``, ``model.base_status``, ...).

    ``base_status`` is the registered base's standing; ``unregistered`` for a base named
    only in free text (nobody vouched for it), ``none`` for a model trained from scratch."""
    if row is not None:
        return {"name": row.name, "status": row.status, "weights_hash": row.weights_hash, "licence": row.licence}
    text = (legacy_text or "").strip()
    return {"name": text or None, "status": UNREGISTERED if text else NONE, "weights_hash": None, "licence": None}
