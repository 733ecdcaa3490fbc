"""A model's training set judged by class: computed once and kept, exact whatever changes.

Every generation request judges the images its model was trained on. A set's members
never change (it is fixed at creation, its Merkle root names them), and a policy's
``training_asset`` rules can read only a member's licence and its asset facts besides the
request-wide facts, and all of those but its id, hash and title (``MEMBER_PATHS``; a rule
that reads them judges each member, see ``judges_each_member``) are the same for many
members. So members sharing their licence and every other asset fact (``SHARED_ASSET_FACTS``:
every ``facts.FIELDS["asset"]`` key but the member paths, so a fact added there is grouped
by without anyone remembering to) share every outcome: the set is partitioned once into
*classes* (a handful for tens of thousands of images), and the facts hold one entry per
class, which the policy judges once. A decision then costs the same for a 20-image and a 100,000-image model.

What is kept, and why it stays exact:

- the partition, in each process (``_PARTITIONS``), recomputed when the set's clearance row's
  ``revision`` moves: ``set_revisions.member_attributes_changed`` bumps it in the same
  transaction as any change to a member's attributes or to its owner's training-and-mining
  answer (read when an asset registered before credentials comes again), the only member
  facts that can change;
- the entries, keyed by the partition and the canonical facts of its licences, read live
  for every request: a takedown, any licence edit and any new version is a new key, while a
  licence no member is under is never read and invalidates nothing;
- the clearance row (``TrainingClearance``): whether every member is cleared for AI training
  in every production and territory (``JUDGED_FOR``), judged by the very functions a training
  decision uses (``training_facts.licence_refusal``, ``consent_covers_training``, the owner's
  training-and-mining answer), so "clear" means no training run's licence, consent or owner
  findings can refuse the set wherever it is asked; a licence or consent limited to some
  productions or territories is listed as a problem. It is keyed by the exact licence and
  consent records and the day it was judged on. It is a record for the model
  card and the audit trail, rewritten whenever it differs from what the live records give;
  no decision reads it, so editing it in the database changes no outcome.

A class entry looks like a member's entry (``registry_facts.asset_entry``) and adds
``members`` (how many images it stands for) and ``member_assets`` (their ``[id, sha256,
title]``), so the inputs digest names exactly which images were judged and a later policy
that tells members apart can be replayed on them (``each_member``); a class of one image
has that image's own asset facts. Its subject names the first few images and how many more
there are, so evidence names affected assets. The entries are built (and hashed) once for
each state of their licences, so the list costs a decision nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable, Mapping

from ..audit.log import record
from ..canonical import canonical_json, digest
from ..clock import utcnow
from ..db import tuples
from ..registry.tables import (
    Asset,
    AssetPerson,
    Consent,
    Licence,
    Model,
    TrainingClearance,
    TrainingSet,
    TrainingSetMember,
)
from .document import Policy
from .facts import ALL_PRODUCTIONS, FIELDS, WORLDWIDE
from .inputs import Hashed
from .registry_facts import consent_facts, licence_facts, subject_entry, training_entries
from .training_facts import consent_covers_training, licence_refusal, member_refusal

#: the member facts a rule may read that differ between members of one class
MEMBER_PATHS = frozenset({"asset.id", "asset.sha256", "asset.title"})
#: the asset facts members of one class share: every other fact a rule may read of an asset
SHARED_ASSET_FACTS = tuple(sorted(k for k in FIELDS["asset"] if f"asset.{k}" not in MEMBER_PATHS))
#: the production and territory the kept clearance judges for: all of them, so that "clear"
#: holds for any training run (``facts.ALL_PRODUCTIONS``, ``facts.WORLDWIDE``)
JUDGED_FOR = {"production": ALL_PRODUCTIONS, "territory": WORLDWIDE}
#: a class's subject names at most this many of its images
NAMED_IN_SUBJECT = 3
#: the clearance summary lists at most this many problems, each with this many assets
MAX_PROBLEMS = 20


def judges_each_member(policy: Policy) -> bool:
    """Whether ``policy`` reads a fact that tells members of one class apart (an asset's id,
    hash or title) about a training image, or quantifies over ``training_assets`` (a count
    of classes is not a count of images): then its facts list every member."""
    return policy.reads_on("training_asset", MEMBER_PATHS) or policy.reads("training_assets")


def training_facts_for(policy: Policy) -> Callable[[Model], Hashed]:
    """How to build ``training_assets`` for decisions under ``policy``: by class, unless it
    tells members of a class apart."""
    return training_entries if judges_each_member(policy) else class_entries


@dataclass(frozen=True)
class MemberClass:
    """Members under one licence with the same ``SHARED_ASSET_FACTS`` (media type, catalogue
    attributes, the owner's training-and-mining answer, and whatever is added to them)."""

    licence_id: int
    #: the asset facts every member has, by ``SHARED_ASSET_FACTS`` key
    shared: Mapping[str, Any]
    #: (asset id, sha256, title), by sha256
    members: tuple[tuple[int, str, str], ...]

    @property
    def subject(self) -> str:
        named = ", ".join(f"asset:{sha256}" for _, sha256, _ in self.members[:NAMED_IN_SUBJECT])
        more = len(self.members) - NAMED_IN_SUBJECT
        return named if more <= 0 else f"{named} and {more:,} more"

    def entry(self, licence: dict[str, Any] | None) -> dict[str, Any]:
        """The class as one entry of ``training_assets`` (see the module's docstring)."""
        if len(self.members) == 1:
            [(asset_id, sha256, title)] = self.members
            asset: dict[str, Any] = {"id": str(asset_id), "sha256": sha256, "title": title}
        else:
            asset = {"id": None, "sha256": None, "title": None}
        asset |= _copied(self.shared)
        return {"subject": self.subject, "asset": asset, "licence": licence,
                "members": len(self.members), "member_assets": self.members}


@dataclass(frozen=True)
class Partition:
    """A training set's members in classes, and the people linked to them."""

    training_set: int
    revision: int
    classes: tuple[MemberClass, ...]
    #: (asset sha256, person id) for every person linked to a member (``AssetPerson``)
    links: tuple[tuple[str, int], ...]
    sha256: str

    @property
    def licence_ids(self) -> list[int]:
        return sorted({c.licence_id for c in self.classes})

    @property
    def person_ids(self) -> list[int]:
        return sorted({person for _, person in self.links})

    @property
    def size(self) -> int:
        return sum(len(c.members) for c in self.classes)


def _copied(shared: Mapping[str, Any]) -> dict[str, Any]:
    """The shared facts as an entry holds them (a record fact copied, so no entry aliases another)."""
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in shared.items()}


def _compute_partition(training_set: int, revision: int) -> Partition:
    grouped: dict[tuple[int, bytes], list[tuple[int, str, str]]] = {}
    kept_shared: dict[bytes, Mapping[str, Any]] = {}
    rows = tuples(TrainingSetMember.select(Asset.id, Asset.sha256, Asset.title, Asset.media_type,
                                           TrainingSetMember.licence, Asset.attributes, Asset.training_mining)
                  .join(Asset).where(TrainingSetMember.training_set == training_set).order_by(Asset.sha256))
    for asset_id, sha256, title, media_type, licence_id, attributes, training_mining in rows:
        # the member's asset facts exactly as a per-member entry has them (``registry_facts``)
        facts = subject_entry(asset_id, sha256, title, media_type, None,
                              attributes if isinstance(attributes, dict) else None, training_mining)["asset"]
        shared = {k: facts[k] for k in SHARED_ASSET_FACTS}
        text = canonical_json(shared)
        kept_shared.setdefault(text, shared)
        grouped.setdefault((licence_id, text), []).append((asset_id, sha256, title))
    classes = tuple(sorted((MemberClass(lid, kept_shared[text], tuple(members))
                            for (lid, text), members in grouped.items()), key=lambda c: c.members[0][1]))
    links = tuple(sorted(tuples(AssetPerson.select(Asset.sha256, AssetPerson.person).join(Asset)
                                .join(TrainingSetMember, on=(TrainingSetMember.asset == Asset.id))
                                .where(TrainingSetMember.training_set == training_set))))
    named = digest({"classes": [[c.licence_id, dict(c.shared), c.members] for c in classes],
                    "links": links})
    return Partition(training_set, revision, classes, links, named)


#: the partitions kept in this process, by training set; each is a few hundred bytes a member
_PARTITIONS: OrderedDict[tuple[int, str, str], Partition] = OrderedDict()
#: the class entries built for the latest licence facts of each kept partition
_ENTRIES: OrderedDict[str, Hashed] = OrderedDict()
_KEEP = 8


def _kept(store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > _KEEP:
        store.popitem(last=False)


def partition(ts: TrainingSet) -> Partition:
    """The set's partition, kept while its clearance row's revision stands.

    Kept per (set id, root, creation time) so another database's set of the same id (a
    test's, a restored copy's) is never served, and recomputed when the revision moves.
    """
    revision = _revision(ts)
    key = (ts.id, ts.merkle_root, str(ts.created_at))
    kept = _PARTITIONS.get(key)
    if kept is not None and kept.revision == revision:
        _PARTITIONS.move_to_end(key)
        return kept
    part = _compute_partition(ts.id, revision)
    _kept(_PARTITIONS, key, part)
    return part


def _revision(ts: TrainingSet) -> int:
    """The set's clearance revision: 0 while it has no row (a reader writes nothing; the
    first change to a member's attributes makes the row, at revision 1)."""
    found = TrainingClearance.select(TrainingClearance.revision).where(
        TrainingClearance.training_set == ts.id).scalar()
    return int(found) if found is not None else 0


def _licence_facts(ids: Iterable[int]) -> dict[int, dict[str, Any] | None]:
    return {lic.id: licence_facts(lic) for lic in Licence.select().where(Licence.id.in_(list(ids)))}


def class_entries(model: Model) -> Hashed:
    """``training_assets`` for ``model``: one entry per class of its set's members, built
    once for each state of the licences they are under (see the module's docstring)."""
    ts = model.training_set if model.training_set_id else None
    if ts is None:
        return Hashed(())
    part = partition(ts)
    licences = _licence_facts(part.licence_ids)
    key = digest({"partition": part.sha256, "licences": [[lid, digest(licences.get(lid))]
                                                        for lid in part.licence_ids]})
    kept = _ENTRIES.get(key)
    if kept is not None:
        _ENTRIES.move_to_end(key)
        return kept
    entries = Hashed(c.entry(licences.get(c.licence_id)) for c in part.classes)
    _kept(_ENTRIES, key, entries)
    return entries


def each_member(entries: Hashed) -> Hashed:
    """``training_assets`` with each class entry replaced by one entry per image it stands
    for, exactly as ``registry_facts.asset_entry`` makes them: for replaying decisions made
    by class under a policy that tells members apart (``judges_each_member``)."""
    if not any("member_assets" in e for e in entries):
        return entries
    out = []
    for e in entries:
        if "member_assets" not in e:
            out.append(e)
            continue
        for asset_id, sha256, title in e["member_assets"]:
            shared = {k: v for k, v in e["asset"].items() if k not in ("id", "sha256", "title")}
            out.append({"subject": f"asset:{sha256}",
                        "asset": {"id": str(asset_id), "sha256": sha256, "title": title, **shared},
                        "licence": e["licence"]})
    return Hashed(sorted(out, key=lambda m: str(m["asset"]["sha256"])))


# --- the clearance itself ---------------------------------------------------------------------

@dataclass(frozen=True)
class Clearance:
    """Whether every image a set holds is cleared for AI training today, and if not, why."""

    training_set: str
    state: str
    key: str
    summary: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"training_set": self.training_set, "state": self.state, "key": self.key, **self.summary}


def _member_problem(lic: Mapping[str, Any] | None, training_mining: str | None, today: str) -> str | None:
    """Why a training run anywhere could be refused these members: what a training decision
    says of them (``training_facts``), asked for every production and territory at once."""
    # the reason names no licence: a producer's model card shows reasons (``provenance.model_card``)
    unnamed = {**lic, "ref": "of these images", "id": None} if lic is not None else None
    return member_refusal(licence_refusal(unnamed, JUDGED_FOR["production"], JUDGED_FOR["territory"], today),
                           training_mining)


def _consents_ai_training(consent: Mapping[str, Any], today: str) -> bool:
    return consent_covers_training(consent, JUDGED_FOR["production"], JUDGED_FOR["territory"], today)


def _judge(ts: TrainingSet, part: Partition, licences: Mapping[int, dict[str, Any] | None],
           consents: Mapping[int, list[dict[str, Any]]], today: str) -> tuple[str, dict[str, Any]]:
    by_licence: dict[int, int] = {}
    problems: list[dict[str, Any]] = []
    for c in part.classes:
        by_licence[c.licence_id] = by_licence.get(c.licence_id, 0) + len(c.members)
        lic = licences.get(c.licence_id)
        reason = _member_problem(lic, c.shared.get("training_mining"), today)
        if reason is not None:
            problems.append({"reason": reason, "licence": (lic or {}).get("ref"), "members": len(c.members),
                             "assets": [sha256 for _, sha256, _ in c.members[:NAMED_IN_SUBJECT]]})
    unconsented: dict[int, list[str]] = {}
    for sha256, person in part.links:
        if not any(_consents_ai_training(c, today) for c in consents.get(person, [])):
            unconsented.setdefault(person, []).append(sha256)
    for person, assets in sorted(unconsented.items()):
        # people are named by number: a model card may be read outside their production
        problems.append({"reason": "a person linked to the image has no confirmed consent covering ai_training"
                                   " in every production and territory",
                         "person": f"#{person}", "members": len(assets), "assets": assets[:NAMED_IN_SUBJECT]})
    summary = {
        "members": part.size, "classes": len(part.classes), "judged_on": today, "judged_for": dict(JUDGED_FOR),
        "licences": [{"ref": (licences.get(lid) or {}).get("ref"), "members": n}
                     for lid, n in sorted(by_licence.items())],
        "people_linked": len(part.person_ids),
        "problems": problems[:MAX_PROBLEMS], "problems_not_shown": max(0, len(problems) - MAX_PROBLEMS),
    }
    return ("not_clear" if problems else "clear"), summary


def _consent_facts(people: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    if people:
        for consent in Consent.select().where(Consent.person.in_(people)).order_by(Consent.id):
            found.setdefault(consent.person_id, []).append(consent_facts(consent))
    return found


def clearance(ts: TrainingSet, today: date | None = None, actor: str | None = None, *,
              keep: bool = True) -> Clearance:
    """The set's clearance as the live records give it today, kept in its row (``keep``;
    a reader's look, such as a model card's, writes nothing).

    The row is rewritten (and the change audited) whenever it differs from what the live
    records give: when a licence or consent it relied on changed, when a day passed, or
    when someone edited it in the database.
    """
    part = partition(ts)
    licences = _licence_facts(part.licence_ids)
    consents = _consent_facts(part.person_ids)
    day = (today or utcnow().date()).isoformat()
    key = digest({"partition": part.sha256, "day": day,
                  "licences": [[lid, digest(licences.get(lid))] for lid in part.licence_ids],
                  "consents": [[pid, digest(consents.get(pid, []))] for pid in part.person_ids]})
    state, summary = _judge(ts, part, licences, consents, day)
    row = TrainingClearance.get_or_none(TrainingClearance.training_set == ts.id)
    if keep and (row is None or (row.key, row.state, row.summary) != (key, state, summary)):
        was = row.state if row is not None and row.key else None
        TrainingClearance.insert(training_set=ts.id, revision=0, key=key, state=state, summary=summary,
                                 computed_at=utcnow()).on_conflict(
            conflict_target=[TrainingClearance.training_set],
            update={TrainingClearance.key: key, TrainingClearance.state: state,
                    TrainingClearance.summary: summary, TrainingClearance.computed_at: utcnow()}).execute()
        if was != state:
            record("training_set.clearance", f"training_set:{ts.name}",
                   {"state": state, "was": was, "key": key,
                    "problems": [p["reason"] for p in summary["problems"]][:5]}, actor)
    return Clearance(ts.name, state, key, summary)


def sets_touching(*, licence: int | None = None, person: int | None = None) -> list[TrainingSet]:
    """The training sets with a member under ``licence``, or with ``person`` linked to a member."""
    members = TrainingSetMember.select(TrainingSetMember.training_set)
    if licence is not None:
        members = members.where(TrainingSetMember.licence == licence)
    else:
        members = members.where(TrainingSetMember.asset.in_(
            AssetPerson.select(AssetPerson.asset).where(AssetPerson.person == person)))
    return list(TrainingSet.select().where(TrainingSet.id.in_(members)).order_by(TrainingSet.id))


def refresh(sets: Iterable[TrainingSet], actor: str | None = None) -> list[Clearance]:
    """Judge these sets' clearance again now (a revocation touched them), in the caller's
    transaction, so that the change is on record when it happens rather than at the next look."""
    return [clearance(ts, actor=actor) for ts in sets]
