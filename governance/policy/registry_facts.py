"""Building the facts a policy evaluates from a request and the registry.

This is the only place where the policy engine meets the database: it looks up the model,
its training set, the reference assets with their licences, and the people depicted,
named in the prompt or shown in a reference image, with their consents, and turns them
into the plain facts described in ``facts``. Unknown names are errors for the requester,
never silently skipped.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Sequence

import peewee

from ..auth.tables import Membership, User
from ..canonical import canonical_json, digest
from ..db import HotSelect, hot_get, tuples
from ..errors import InvalidInput
from ..principal import Principal
from ..registry import attestations, base_models, scope
from ..registry import vocabulary as vocab
from ..registry.assets import find_asset
from ..registry.consents import consent_dict
from ..registry.licences import licence_dict
from ..registry.models_registry import get_model
from ..registry.people import find_person, get_person, get_production
from ..registry.tables import (
    Asset,
    AssetPerson,
    Consent,
    Licence,
    Model,
    Person,
    PersonProduction,
    Production,
    TrainingSetMember,
)
from ..registry.watchlist import refuse_watchlisted
from ..words import folded_words
from . import facts as F
from .inputs import Hashed
from .usage import annotate

#: registry fields a policy may read (see facts.FIELDS); everything else stays out of the facts
_LICENCE_KEYS = tuple(F.FIELDS["licence"])
_CONSENT_KEYS = tuple(F.FIELDS["consent"])


@dataclass(frozen=True)
class RequestSpec:
    """What a requester asks for, as given (names and references, not yet looked up)."""

    requester: str
    production: str
    use: str
    territory: str
    model: str
    #: confidential: never in a repr (a traceback's locals, a log line)
    prompt: str = field(repr=False)
    references: Sequence[str] = ()
    people: Sequence[str] = ()
    date: date | None = None


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """Dates and datetimes as ISO strings: facts are JSON values only."""
    plain: dict[str, Any] = json.loads(canonical_json(value))
    return plain


def attributes_of(row: Any) -> dict[str, Any]:
    """The catalogue's custom attributes a record carries (none before the catalogue existed)."""
    value = getattr(row, "attributes", None)
    return dict(value) if isinstance(value, dict) else {}


def licence_facts(lic: Licence | None) -> dict[str, Any] | None:
    if lic is None:
        return None
    data = licence_dict(lic)
    return _plain({k: data.get(k) for k in _LICENCE_KEYS} | {"id": str(lic.id), "attributes": attributes_of(lic)})


def asset_entry(asset: Asset, lic: Licence | None) -> dict[str, Any]:
    return subject_entry(asset.id, asset.sha256, asset.title, asset.media_type, licence_facts(lic),
                         attributes_of(asset), asset.training_mining)


def subject_entry(asset_id: int, sha256: str, title: str, media_type: str,
           licence: dict[str, Any] | None, attributes: dict[str, Any] | None = None,
           training_mining: str | None = None) -> dict[str, Any]:
    """One reference or training entry of the facts (see ``facts``). ``training_mining``:
    its owner's answer for AI training as its content credentials state it (none if unstated,
    or registered before credentials were read)."""
    return {"subject": f"asset:{sha256}",
            "asset": {"id": str(asset_id), "sha256": sha256, "title": title, "media_type": media_type,
                      "attributes": attributes or {}, "training_mining": training_mining or "none"},
            "licence": licence}


def model_facts(model: Model) -> dict[str, Any]:
    base = base_models.model_base_facts(model)
    return {"id": str(model.id), "name": model.name, "version": model.version, "status": model.status,
            "weights_hash": model.weights_hash,
            "training_set_root": model.training_set.merkle_root if model.training_set is not None else None,
            "attested": attestations.attested(model),
            "base": base["name"], "base_status": base["status"], "base_weights_hash": base["weights_hash"],
            "base_licence": base["licence"]}


def training_entries(model: Model) -> Hashed:
    """One entry per member of the model's training set, as ``asset_entry`` makes them, with
    the SHA-256 of their canonical JSON (``inputs.Hashed``).

    Training sets run to tens of thousands of images under a handful of licences, and
    every request reads them all: members come back as plain tuples, and each licence's
    facts are built once and shared by its members (facts are never mutated), which
    takes 10,000 members from ~1 s to a few tens of ms. The entries and their hash are
    then kept for the next request on the same set (``_TrainingCache``), reused only while
    the members read now and the licences' facts are exactly those they were built from.
    """
    if not model.training_set_id:
        return Hashed(())
    members = list(tuples(TrainingSetMember.select(Asset.id, Asset.sha256, Asset.title, Asset.media_type,
                                                   TrainingSetMember.licence, Asset.attributes,
                                                   Asset.training_mining)
                          .join(Asset)
                          .where(TrainingSetMember.training_set == model.training_set_id)
                          .order_by(Asset.sha256)))
    used = TrainingSetMember.select(TrainingSetMember.licence).where(
        TrainingSetMember.training_set == model.training_set_id)
    licences = {lic.id: licence_facts(lic) for lic in Licence.select().where(Licence.id.in_(used))}
    return _TRAINING.entries(model.training_set_id, members, licences)


class _TrainingCache:
    """The last few training sets' entries, hashed once, keyed by the set and the exact
    facts of its licences.

    A licence's facts (its version, takedown, grants, attributes...) are part of the key,
    so a takedown or any other change to a licence is a different key; the members read
    for this request must also equal those the entries were built from. So an entry is
    never served for facts other than the ones it was built from, whatever changed.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[Any, ...], tuple[list[tuple[Any, ...]], Hashed]] = OrderedDict()

    def entries(self, training_set: int, members: list[tuple[Any, ...]],
                licences: dict[int, dict[str, Any] | None]) -> Hashed:
        key = (training_set, tuple(sorted((lid, digest(facts)) for lid, facts in licences.items())))
        kept = self._kept.get(key)
        if kept is not None and kept[0] == members:
            self._kept.move_to_end(key)
            return kept[1]
        part = Hashed(subject_entry(asset_id, sha256, title, media_type, licences[licence_id],
                                    attributes if isinstance(attributes, dict) else {}, mining)
                      for asset_id, sha256, title, media_type, licence_id, attributes, mining in members)
        self._kept[key] = (members, part)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return part

    def clear(self) -> None:
        self._kept.clear()


#: a handful of models serve most requests; each set kept may hold tens of thousands of entries
_TRAINING = _TrainingCache(size=8)


def consent_facts(consent: Any) -> dict[str, Any]:
    data = consent_dict(consent)
    return _plain({k: data.get(k) for k in _CONSENT_KEYS} | {"id": str(consent.id),
                                                              "attributes": attributes_of(consent)})


def performer_entry(person: Person, request: dict[str, Any], *, depicted: bool, named: bool,
                    in_reference: bool = False, by: Principal | None = None) -> dict[str, Any]:
    """A performer's facts; a confined requester's decision relies only on (and its evidence
    shows only) the consents their productions may see. A person of another production (shown
    in a library image, or named in the prompt) is named by number, not by name."""
    consents = [consent_facts(c) for c in person.consents.order_by(Consent.id) if scope.consent_visible(by, c)]
    name = person.name if scope.person_visible(by, person) else f"#{person.id}"
    return F.performer({"id": str(person.id), "name": name, "is_minor": person.is_minor,
                        "attributes": attributes_of(person) if name == person.name else {},
                        "deceased": person.deceased_on is not None},
                       consents, request, depicted=depicted, named_in_prompt=named, in_reference=in_reference)


def named_in_prompt(prompt: str, production: str | None) -> list[str]:
    """The registered people named in ``prompt`` (``facts.names_in_prompt``), among those whose
    names a prompt is checked for: everyone legal has recorded a consent for, in any
    production (naming them without their consent is refused), and everyone taking part in
    the request's own production (``None``: a requester outside it, who learns nothing of its
    cast). A person a producer registered elsewhere is not among them, so registering a
    common word as a name cannot deny other productions' requests.

    Only people whose first name word is one of the prompt's words are read (the indexed
    ``Person.name_first``), ``LOOKUP_WORDS`` words a query: a name can appear nowhere else, so
    the answer is the one matching every candidate gives, at a cost that follows the prompt,
    not the size of the registry. Anyone whose key is empty is read too: a name with no word
    never matches, and a row written without the key (by code older than step 35, still
    running through an upgrade) is then matched whole rather than missed."""
    words = sorted(set(folded_words(prompt)) | {""})
    names: set[str] = set()
    for start in range(0, len(words), LOOKUP_WORDS):
        batch = words[start:start + LOOKUP_WORDS]
        # padded to a power of two with a word already asked for: a handful of query shapes,
        # each written once (``HotSelect``), instead of peewee writing the SQL every decision
        size = max(8, 1 << (len(batch) - 1).bit_length())
        padded = batch + [batch[-1]] * (size - len(batch))
        if production is None:
            found = _named_lookup(size, False).all(*padded)
        else:
            found = _named_lookup(size, True).all(*padded, production)
        names |= {person.name for person in found}
    return F.names_in_prompt(prompt, names)


#: at most this many prompt words in one lookup (a power of two: see ``named_in_prompt``)
LOOKUP_WORDS = 512
_named_lookups: dict[tuple[int, bool], HotSelect[Person]] = {}


def _named_lookup(size: int, in_production: bool) -> HotSelect[Person]:
    """People whose key is one of ``size`` words and who have a consent (or, ``in_production``,
    take part in the production named last), asked per person found (correlated ``EXISTS``,
    so the name index leads: joined the other way round, a production of 10,000 people was
    walked whole on every decision)."""
    key = (size, in_production)
    if key not in _named_lookups:
        def build(*values: str) -> peewee.ModelSelect[Person]:
            words, production = values[:size], values[size] if in_production else None
            candidate: peewee.ColumnBase = peewee.fn.EXISTS(
                Consent.select(peewee.SQL("1")).where(Consent.person == Person.id))
            if in_production:
                candidate = candidate | peewee.fn.EXISTS(
                    PersonProduction.select(peewee.SQL("1")).join(Production)
                    .where(PersonProduction.person == Person.id, Production.name == production))
            return Person.select(Person.name).where(Person.name_first.in_(list(words)), candidate)
        fields = [Person.name_first] * size + ([Production.name] if in_production else [])
        _named_lookups[key] = HotSelect(build, *fields)
    return _named_lookups[key]


def requester_facts(name: str) -> dict[str, Any]:
    """Who asked, as the user records say now: roles, productions, department, attributes.
    A name no user has (a request recorded by a script) is a requester with no roles and
    no productions, which the policy judges like any other."""
    user = hot_get(User, User.name, name)
    if user is None:
        return {"name": name, "roles": [], "productions": [], "department": None, "attributes": {}}
    return _plain({"name": user.name, "roles": sorted(user.roles or []),
                   "productions": sorted(p.name for p in _memberships.all(user.id)),
                   "department": getattr(user, "department", None), "attributes": attributes_of(user)})


#: the productions a user is a member of (every decision asks, for its requester)
_memberships: HotSelect[Production] = HotSelect(
    lambda user_id: Production.select(Production.name).join(Membership).where(Membership.user == user_id),
    Membership.user)


def _checked(spec: RequestSpec) -> tuple[str, str]:
    vocab.choose(spec.use, F.USES, "intended use")
    territory = vocab.territories([spec.territory])
    if len(territory) != 1:
        raise InvalidInput("give one territory of release")
    if not spec.prompt or not spec.prompt.strip():
        raise InvalidInput("a request needs a prompt")
    return spec.use, territory[0]


def build_facts(spec: RequestSpec, request_id: str, today: date, by: Principal | None = None,
                training: Callable[[Model], Hashed] = training_entries) -> dict[str, Any]:
    """The facts for ``spec``; NotFound names the first unknown production, model, asset or person.

    ``by`` is the requester: references and depicted people must be records they may see.
    Names in the prompt are found by ``named_in_prompt``, so that naming a person of
    another production is refused rather than ignored. ``training`` builds the model's
    ``training_assets``: one entry per member by default; a decision passes what its policy
    needs (``clearance.training_facts_for``: one entry per class of members).
    """
    use, territory = _checked(spec)
    if by is not None and not by.may_see_production(spec.production):
        # a requester outside the production: the policy's membership rule decides, on facts
        # that tell them nothing of it (not whether it exists, not its cast or its terms)
        production_name, production_terms = vocab.name(spec.production, "production"), {}
        named = named_in_prompt(spec.prompt, None)
    else:
        production = get_production(spec.production)
        production_name, production_terms = production.name, attributes_of(production)
        named = named_in_prompt(spec.prompt, production.name)
    model = get_model(spec.model)
    assets = [find_asset(r, by) for r in spec.references]
    for asset in assets:
        refuse_watchlisted(asset, "a request's reference")
    references = sorted({a.id: a for a in assets}.values(), key=lambda a: a.sha256)
    depicted = {p.name: p for p in (find_person(ref, by) for ref in spec.people)}
    request = {"id": request_id, "requester": spec.requester, "production": production_name,
               "use": use, "territory": territory, "date": (spec.date or today).isoformat(),
               "prompt_terms": F.prompt_terms(spec.prompt), "named_people": named,
               "depicts_people": bool(depicted), "people": sorted(depicted)}
    # people shown in a reference image are part of the request too, listed or not
    in_reference = {link.person.name: link.person for link in
                    AssetPerson.select(AssetPerson, Person).join(Person)
                    .where(AssetPerson.asset.in_([a.id for a in references]))} if references else {}
    people = {name: depicted.get(name) or in_reference.get(name) or get_person(name)
              for name in sorted(set(depicted) | set(named) | set(in_reference))}
    return annotate({
        "request": request,
        "requester": requester_facts(spec.requester),
        "production": {"name": production_name, "attributes": production_terms},
        "model": model_facts(model),
        "references": [asset_entry(a, a.licence if a.licence_id else None) for a in references],
        "training_assets": training(model),
        "performers": [performer_entry(p, request, depicted=name in depicted, named=name in named,
                                       in_reference=name in in_reference, by=by)
                       for name, p in people.items()],
    })
