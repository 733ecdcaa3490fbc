"""A model's card: what it is, what it learned from, what it owes and what it may be used for.

One function (``model_card``) builds it for the CLI (``slate model card``), the API
(``GET /api/v1/models/<ref>/card``) and the page (``/models/<ref>/card``), as a frozen value
that owns its ``to_dict``. Everything on it comes from records legal keeps, judged now:
the training set's licences with how many images each covers, the credits owed (licences
requiring attribution, consents of people shown in training images that ask for credit),
the set's clearance (``policy.clearance``), how the model's outputs measured against each
production's look, and the uses it may serve: a use is intended only when the model is
approved, its set is cleared, and every image's licence grants that use.

A producer sees what the registry's scope lets them see: the licences of assets of their
productions and the library (the rest counted, not named), consents' credits they may see,
their own productions' evaluations, and the clearance's reasons without other productions'
assets. Never a prompt, never a person's name they may not see.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Any, Mapping

from peewee import fn

from ..db import transaction, tuples
from ..jobs.tables import OutputReview
from ..policy import clearance as clearances
from ..policy import facts as F
from ..policy.tables import GenerationRequest
from ..principal import Principal
from ..registry import attestations, base_models, scope
from ..registry.licences import licence_dict
from ..registry.models_registry import get_model
from ..registry.tables import Asset, AssetPerson, Consent, Licence, Model, TrainingRun, TrainingSetMember


@dataclass(frozen=True)
class LicenceLine:
    """One licence the training set's images are held under, and how many."""

    ref: str
    licensor: str
    members: int
    grants: tuple[str, ...]
    territories: tuple[str, ...]
    starts_on: str
    ends_on: str | None
    takedown: bool
    attribution_required: bool
    credit_text: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "licensor": self.licensor, "members": self.members, "grants": list(self.grants),
                "territories": list(self.territories), "starts_on": self.starts_on, "ends_on": self.ends_on,
                "takedown": self.takedown, "attribution_required": self.attribution_required,
                "credit_text": self.credit_text}


@dataclass(frozen=True)
class LookEvaluation:
    """How the model's reviewed outputs measured against one production's look."""

    production: str
    outputs: int
    median_style_distance: float

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production, "outputs": self.outputs,
                "median_style_distance": self.median_style_distance}


@dataclass(frozen=True)
class RefusedUse:
    use: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"use": self.use, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ModelCard:
    model: Mapping[str, Any]
    base: Mapping[str, Any]
    training_set: Mapping[str, Any] | None
    licences: tuple[LicenceLine, ...]
    licences_not_shown: int
    credits: tuple[str, ...]
    clearance: Mapping[str, Any] | None
    attestation: Mapping[str, Any] | None
    evaluation: tuple[LookEvaluation, ...]
    intended_uses: tuple[str, ...]
    refused_uses: tuple[RefusedUse, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"model": dict(self.model), "base": dict(self.base),
                "training_set": dict(self.training_set) if self.training_set is not None else None,
                "licences": [line.to_dict() for line in self.licences], "licences_not_shown": self.licences_not_shown,
                "credits": list(self.credits),
                "clearance": dict(self.clearance) if self.clearance is not None else None,
                "attestation": dict(self.attestation) if self.attestation is not None else None,
                "evaluation": [e.to_dict() for e in self.evaluation],
                "intended_uses": list(self.intended_uses),
                "refused_uses": [r.to_dict() for r in self.refused_uses]}

    def render(self) -> str:
        """The card as a person reads it in a terminal."""
        m, ts = self.model, self.training_set
        lines = [f"model {m['ref']}  {m['status']}  weights {m['weights_hash']}",
                 f"base: {self.base.get('name') or 'none'}"]
        if ts is None:
            lines.append("training set: none recorded")
        else:
            lines.append(f"training set: {ts['name']}  {ts['size']} images  root {ts['merkle_root']}")
        lines += [f"  {line.ref} ({line.licensor}): {line.members} images; grants {', '.join(line.grants)}; "
                  f"{', '.join(line.territories)}; {line.starts_on} to {line.ends_on or 'open'}"
                  + ("; TAKEN DOWN" if line.takedown else "") for line in self.licences]
        if self.licences_not_shown:
            lines.append(f"  and {self.licences_not_shown} licence(s) of other productions' images")
        if self.clearance is not None:
            lines.append(f"clearance: {self.clearance['state']}")
            lines += [f"  {p['reason']} ({p['members']} images)" for p in self.clearance.get("problems", [])]
        lines.append(f"attestation: {'recorded' if self.attestation else 'none'}")
        lines += [f"credit: {text}" for text in self.credits]
        lines += [f"look of {e.production}: {e.outputs} outputs, median style distance {e.median_style_distance}"
                  for e in self.evaluation]
        lines.append(f"intended uses: {', '.join(self.intended_uses) or 'none'}")
        lines += [f"refused {r.use}: {'; '.join(r.reasons)}" for r in self.refused_uses]
        return "\n".join(lines)


def base_of(model: Model) -> dict[str, Any]:
    """The model's base as the policy reads it (``registry.base_models.base_facts``)."""
    return base_models.model_base_facts(model)


def attestation_of(model: Model) -> dict[str, Any] | None:
    """How the model was made, as its accepted training-run attestation says (None: the
    model is unattested): its run, the attestation's SHA-256, who signed it (worker key,
    Slate key), the root of the bytes read, the base, method, hyper-parameters, code and
    metrics as attested."""
    if not attestations.attested(model):
        return None
    row = TrainingRun.get_or_none(TrainingRun.id == model.training_run_id)
    if row is None or not row.attestation:
        return None
    body = json.loads(row.attestation)
    return {"run": row.uid, "origin": row.origin, "attestation_sha256": row.attestation_sha256,
            "worker_key_id": row.worker_key_id, "slate_key": (row.slate_signature or {}).get("key"),
            "approved_by": row.approved_by, "training_set_root": body["training_set"]["merkle_root"],
            **{k: body[k] for k in ("base", "method", "hyperparameters", "seed", "code", "metrics")}}


def model_card(ref: str | int, by: Principal | None = None) -> ModelCard:
    """The card of model ``ref`` as ``by`` may see it (see the module's docstring).
    """
    with transaction():  # one consistent reading of the registry
        model = get_model(ref)
        attestation = attestation_of(model)
        identity = {"ref": f"{model.name}:{model.version}", "name": model.name, "version": model.version,
                    "weights_hash": model.weights_hash, "status": model.status,
                    "status_reason": model.status_reason, "created_at": model.created_at}
        ts = model.training_set if model.training_set_id else None
        if ts is None:
            return ModelCard(identity, base_of(model), None, (), 0, (), None, attestation,
                             _evaluation(model, by), _intended(model, (), "clear"), _refused(model, (), (), None))
        lines = _licence_lines(ts.id)
        shown = tuple(line for line, lic in lines if scope.licence_visible(by, lic))
        cleared = clearances.clearance(ts, keep=False)
        card_clearance = _clearance_view(cleared, by)
        every = tuple(line for line, _ in lines)
        return ModelCard(identity, base_of(model),
                         {"name": ts.name, "merkle_root": ts.merkle_root, "size": ts.size},
                         shown, len(lines) - len(shown), _credits(ts.id, shown, by), card_clearance, attestation,
                         _evaluation(model, by), _intended(model, every, cleared.state),
                         _refused(model, shown, every, cleared.state))


def _licence_lines(training_set: int) -> list[tuple[LicenceLine, Licence]]:
    per_licence = (TrainingSetMember.select(TrainingSetMember.licence, fn.COUNT(TrainingSetMember.id))
                   .where(TrainingSetMember.training_set == training_set).group_by(TrainingSetMember.licence))
    counts: dict[int, int] = dict(tuples(per_licence))
    lines = []
    for lic in Licence.select().where(Licence.id.in_(list(counts))).order_by(Licence.ref):
        data = licence_dict(lic)
        lines.append((LicenceLine(lic.ref, lic.licensor, counts[lic.id], tuple(lic.grants or ()),
                                  tuple(lic.territories or ()), str(data["starts_on"]),
                                  str(data["ends_on"]) if data.get("ends_on") else None, bool(lic.takedown),
                                  bool(lic.attribution_required), lic.credit_text), lic))
    return lines


def _credits(training_set: int, shown: tuple[LicenceLine, ...], by: Principal | None) -> tuple[str, ...]:
    """Licensors' credit lines (licences requiring attribution) and the credit lines of
    consents of people shown in training images that ask for one, distinct, in that order."""
    owed = [line.credit_text for line in shown if line.attribution_required and line.credit_text]
    linked = AssetPerson.select(AssetPerson.person).join(Asset).join(
        TrainingSetMember, on=(TrainingSetMember.asset == Asset.id)).where(
        TrainingSetMember.training_set == training_set)
    for consent in Consent.select().where(Consent.person.in_(linked), Consent.attribution_required == True,  # noqa: E712
                                          Consent.revoked_at.is_null()).order_by(Consent.id):
        if consent.credit_text and scope.consent_visible(by, consent):
            owed.append(consent.credit_text)
    return tuple(dict.fromkeys(owed))


def _clearance_view(cleared: clearances.Clearance, by: Principal | None) -> dict[str, Any]:
    """The clearance, whole for studio-wide roles; for a producer, the state and the reasons
    with counts, without naming assets, licences or people."""
    data = cleared.to_dict()
    if not scope.confined(by):
        return data
    return {"training_set": data["training_set"], "state": data["state"], "members": data["members"],
            "problems": [{"reason": p["reason"], "members": p["members"]} for p in data["problems"]],
            "problems_not_shown": data["problems_not_shown"]}


def _evaluation(model: Model, by: Principal | None) -> tuple[LookEvaluation, ...]:
    """Per production, the style distances output review measured on this model's images."""
    distances: dict[str, list[float]] = {}
    rows = tuples(OutputReview.select(OutputReview.facts, GenerationRequest.production)
                  .join(GenerationRequest, on=(OutputReview.request_id == GenerationRequest.id))
                  .where(GenerationRequest.model == model.id))
    for facts, production in rows:
        value = (facts or {}).get("style_distance")
        if isinstance(value, (int, float)) and (by is None or by.may_see_production(production)):
            distances.setdefault(production, []).append(float(value))
    return tuple(LookEvaluation(p, len(d), round(statistics.median(d), 4)) for p, d in sorted(distances.items()))


def _intended(model: Model, lines: tuple[LicenceLine, ...], state: str) -> tuple[str, ...]:
    if model.status != "approved" or state != "clear":
        return ()
    return tuple(use for use in F.USES if all(use in line.grants for line in lines))


def _refused(model: Model, shown: tuple[LicenceLine, ...], every: tuple[LicenceLine, ...],
             state: str | None) -> tuple[RefusedUse, ...]:
    """Each use the model may not serve, with why; licences the caller may not see are counted."""
    refused = []
    for use in F.USES:
        reasons = []
        if model.status != "approved":
            reasons.append(f"the model is {model.status}")
        if state == "not_clear":
            reasons.append("its training set is not cleared for AI training")
        reasons += [f"licence {line.ref} ({line.members} images) does not grant {use}"
                    for line in shown if use not in line.grants]
        hidden = sum(1 for line in every if use not in line.grants and line not in shown)
        if hidden:
            reasons.append(f"{hidden} licence(s) of other productions' images do not grant {use}")
        if reasons:
            refused.append(RefusedUse(use, tuple(reasons)))
    return tuple(refused)
