"""The facts a training decision is made on (root ``training``, see ``facts``).

A training run is judged on its training set as a whole: every member's licence must grant
AI training in the run's production, territory and on its date, and every person linked to a
member (``AssetPerson``) must have a confirmed, unrevoked consent covering AI training there.
A member whose owner's content credentials refuse AI training fails too. Slate reads every
member and every such person once, here, and lists those that fail with the reason in words
(at most ``facts.TRAINING_LISTED``; the ``*_count`` facts count them all), so the policy's
rules stay short and their evidence names what fails. The judgement of one
licence or consent is a plain function (``licence_refusal``, ``consent_covers_training``) a
test can call without a database.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping, Sequence

from ..db import tuples
from ..principal import Principal
from ..registry import scope
from ..registry.people import get_production
from ..registry.tables import Asset, AssetPerson, Consent, Licence, Person, TrainingSet, TrainingSetMember
from . import facts as F
from .registry_facts import attributes_of, consent_facts, licence_facts, requester_facts

#: the training-and-mining answer of an owner who refuses AI training (``registry.assets`` reads it)
NOT_ALLOWED = "notAllowed"


def _covers(scope: Sequence[str] | None, value: str, everything: str) -> bool:
    listed = list(scope or [])
    return everything in listed or value in listed


def licence_refusal(lic: Mapping[str, Any] | None, production: str, territory: str, day: str) -> str | None:
    """Why this licence does not let its image train a model here, or None if it does."""
    if lic is None:
        return "no licence"
    ref = lic.get("ref") or lic.get("id")
    if lic.get("takedown"):
        return f"licence {ref} was taken down"
    if F.AI_TRAINING not in (lic.get("grants") or []):
        return f"licence {ref} does not grant {F.AI_TRAINING}"
    if not _covers(lic.get("territories"), territory, F.WORLDWIDE):
        return f"licence {ref} does not cover territory {territory}"
    if not (str(lic.get("starts_on") or "") <= day <= str(lic.get("ends_on") or "9999-12-31")):
        return f"licence {ref} is not in force on {day}"
    projects = (lic.get("attributes") or {}).get("projects")
    if isinstance(projects, list) and projects and production not in projects:
        return f"licence {ref} is limited to other projects"
    return None


def consent_covers_training(consent: Mapping[str, Any], production: str, territory: str, day: str) -> bool:
    """A confirmed, unrevoked consent whose uses include AI training for this production,
    territory and date (a pending consent never counts, whatever the policy)."""
    return (consent.get("status") != F.PENDING and not consent.get("revoked")
            and F.AI_TRAINING in (consent.get("uses") or [])
            and _covers(consent.get("productions"), production, F.ALL_PRODUCTIONS)
            and _covers(consent.get("territories"), territory, F.WORLDWIDE)
            and str(consent.get("valid_from") or "") <= day <= str(consent.get("valid_until") or "9999-12-31"))


def member_refusal(licence_refusal: str | None, training_mining: str | None) -> str | None:
    """Why a member may not train a model: its licence, or its owner's content credentials
    (a ``notAllowed`` training-and-mining answer read at intake), or None."""
    if training_mining == NOT_ALLOWED:
        return "its owner's content credentials say AI training is notAllowed"
    return licence_refusal


def _members_without_training(training_set: TrainingSet, production: str, territory: str,
                              day: str, by: Principal | None) -> tuple[int, list[str], int]:
    """(members, the first few that fail with why, how many fail). A failing member the
    requester may not see (another production's asset) is not named: the evidence (kept with
    the run, shown to its requester) counts them in one line, as ``_people`` numbers people."""
    query = (TrainingSetMember.select(Asset.sha256, Asset.title, TrainingSetMember.licence, Asset.training_mining)
             .join(Asset).where(TrainingSetMember.training_set == training_set.id).order_by(Asset.sha256))
    rows = list(tuples(query))
    seen = {sha for (sha,) in tuples(scope.visible_assets(by, query.select(Asset.sha256)))}
    used = TrainingSetMember.select(TrainingSetMember.licence).where(
        TrainingSetMember.training_set == training_set.id)
    refusals = {lic.id: licence_refusal(licence_facts(lic), production, territory, day)
                for lic in Licence.select().where(Licence.id.in_(used))}
    failing = [(sha256, f"{title} ({sha256[:16]}): {reason}") for sha256, title, licence_id, mining in rows
               for reason in [member_refusal(refusals.get(licence_id), mining)] if reason is not None]
    named = [line for sha256, line in failing if sha256 in seen]
    hidden = len(failing) - len(named)
    if not hidden:
        return len(rows), named[:F.TRAINING_LISTED], len(failing)
    counted = f"{hidden} member(s) of productions you are not in cannot train a model here"
    return len(rows), [*named[:F.TRAINING_LISTED - 1], counted], len(failing)


def _people(training_set: TrainingSet, production: str, territory: str, day: str,
            by: Principal | None) -> tuple[list[str], list[str]]:
    """(everyone linked to a member, those with no consent covering AI training here); a person
    the requester may not see (another production's, in a library image) is named by number."""
    members = TrainingSetMember.select(TrainingSetMember.asset).where(
        TrainingSetMember.training_set == training_set.id)
    people = list(Person.select().where(Person.id.in_(
        AssetPerson.select(AssetPerson.person).where(AssetPerson.asset.in_(members)))).order_by(Person.name))
    def named(p: Person) -> str:
        return p.name if scope.person_visible(by, p) else f"#{p.id}"
    without = [named(p) for p in people
               if not any(consent_covers_training(consent_facts(c), production, territory, day)
                          for c in p.consents.order_by(Consent.id))]
    return [named(p) for p in people], without


def training_facts(*, run: str, requester: str, production: str, territory: str, day: date,
                   base: Mapping[str, Any], method: str, params: Mapping[str, Any],
                   training_set: TrainingSet, model: str, by: Principal | None = None) -> dict[str, Any]:
    """The facts of one training decision: the request-wide roots (who asks, for which
    production) and the run itself under ``trainings``; ``base`` is the base model's facts
    (``registry.base_models.base_facts``: name, status, weights_hash, licence)."""
    when = day.isoformat()
    members, failing, failing_count = _members_without_training(training_set, production, territory, when, by)
    people, unconsented = _people(training_set, production, territory, when, by)
    training = {
        "id": run, "production": production, "territory": territory, "date": when,
        "base": base.get("name"), "base_status": base.get("status"), "base_weights_hash": base.get("weights_hash"),
        "base_licence": base.get("licence"), "method": method,
        **{k: params.get(k) for k in ("steps", "rank", "learning_rate", "batch_size", "resolution", "seed")},
        "training_set": training_set.name, "training_set_root": training_set.merkle_root, "model": model,
        "members": members, "members_without_ai_training": failing,
        "members_without_ai_training_count": failing_count,
        "people": people, "people_without_ai_training_consent": unconsented[:F.TRAINING_LISTED],
        "people_without_ai_training_consent_count": len(unconsented),
    }
    request = {"id": run, "requester": requester, "production": production, "use": "training",
               "territory": territory, "date": when, "prompt_terms": [], "named_people": [],
               "depicts_people": False, "people": []}
    return {"request": request, "requester": requester_facts(requester),
            "production": {"name": production, "attributes": attributes_of(get_production(production))},
            "model": None,
            "references": [], "training_assets": [], "performers": [],
            "trainings": [{"subject": "training", "training": training}]}
