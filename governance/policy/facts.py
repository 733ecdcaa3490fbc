"""The facts a policy is evaluated against: their shape, and the paths a policy may read.

Facts are plain dicts (JSON values only: strings, numbers, booleans, null, lists, dicts;
dates as ``YYYY-MM-DD`` strings) so that they hash canonically and can be stored with a
decision and replayed later. The registry's facts builder produces them; a policy test
writes them by hand. Their shape::

    request:         {id, requester, production, use, territory, date, prompt_terms,
                      named_people, depicts_people, people, in_generation_window}
    requester:       {name, roles, productions, department, attributes}   who asked
    production:      {name, attributes, gpu_seconds_budget, gpu_seconds_used}   the request's production
                     (budget, use and blackouts: ``policy.usage``; a consent's and a reference
                     licence's ``uses_so_far`` against their ``max_uses`` too)
    model:           {id, name, version, status, weights_hash, training_set_root,
                      base, base_status, base_weights_hash, base_licence}
                     base_status: the registered base's standing (approved | restricted |
                     retired), ``unregistered`` for a base named only in free text, ``none``
                     for a model an accepted attestation shows trained from scratch,
                     ``undeclared`` for an unattested model naming no base
                     (``registry.base_models.model_base_facts``)
    references:      [{subject, asset, licence}]          one per reference image
    training_assets: [{subject, asset, licence, members, member_assets}]
                     one per class of members of the model's set (same licence and asset facts
                     but id, hash and title; ``clearance``), or one per member where a policy reads an asset's
                     id, hash or title about training images
    performers:      [{subject, person, consent, consents, consent_pending, depicted, named_in_prompt,
                       in_reference}]
                     one per person depicted, named in the prompt, or shown in a reference image
    outputs:         [{subject, output}]   the generated image under review; only in an output
                     decision (``lifecycle.output_review``), so rules about it never fire on a
                     request, and a request's rules are not judged again on its output
    trainings:       [{subject, training}]  the training run asked for; only in a training
                     decision (``lifecycle.training_runs``), so rules about it never fire on a
                     generation request, and a request's rules are not judged on a training run

An asset's ``training_mining`` is its owner's answer for AI training as the content
credentials it was registered with state it (``allowed``, ``notAllowed``, ``constrained``,
``none``: ``registry.intake``).

Licences, consents, people, assets, productions and the requester carry ``attributes``:
the terms the studio's catalogue declares (a licence limited to named projects, a union
rider), typed by that catalogue and read as ``licence.attributes.projects``.

A policy reads facts only through paths listed in ``FIELDS`` whose root its rule's
target allows (``ROOTS``): a rule about each reference image sees that image's
``asset`` and ``licence`` plus the request-wide roots, nothing else; quantifiers
(``every``, ``any``, ``none``, ``count``) range over ``COLLECTIONS`` and list-valued paths
(see ``paths``).

The prompt itself is never a fact: only its lowercased words (``request.prompt_terms``)
are, and evidence shows only the words a rule matched.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Literal, Mapping, Sequence

from ..words import folded_words

Kind = Literal["string", "number", "bool", "date", "list", "record", "records"]

FIELDS: dict[str, dict[str, Kind]] = {
    "request": {
        "id": "string", "requester": "string", "production": "string", "use": "string",
        "territory": "string", "date": "date", "prompt_terms": "list", "named_people": "list",
        "depicts_people": "bool", "people": "list", "in_generation_window": "bool",
    },
    "requester": {
        "name": "string", "roles": "list", "productions": "list", "department": "string",
        "attributes": "record",
    },
    "production": {"name": "string", "attributes": "record", "gpu_seconds_budget": "number",
                   "gpu_seconds_used": "number"},
    "model": {
        "id": "string", "name": "string", "version": "string", "status": "string",
        "weights_hash": "string", "training_set_root": "string", "attested": "bool",
        "base": "string", "base_status": "string", "base_weights_hash": "string", "base_licence": "string",
    },
    "asset": {"id": "string", "sha256": "string", "title": "string", "media_type": "string",
              "attributes": "record", "training_mining": "string"},
    "licence": {
        "id": "string", "ref": "string", "licensor": "string", "grants": "list",
        "territories": "list", "starts_on": "date", "ends_on": "date",
        "attribution_required": "bool", "credit_text": "string", "takedown": "bool",
        "version": "number", "attributes": "record", "max_uses": "number", "uses_so_far": "number",
    },
    "person": {"id": "string", "name": "string", "is_minor": "bool", "attributes": "record", "deceased": "bool"},
    "consent": {
        "id": "string", "uses": "list", "productions": "list", "territories": "list",
        "valid_from": "date", "valid_until": "date", "guardian_signed": "bool",
        "document_sha256": "string", "revoked": "bool", "revoked_at": "string",
        "version": "number", "status": "string", "credit_text": "string",
        "attribution_required": "bool", "output_uses": "list", "attributes": "record",
        "max_uses": "number", "uses_so_far": "number",
        # performers' terms (``registry.performer_terms``); notice_hours and
        # covers_project_explicitly are measured against the request (``consent_terms``)
        "replica_type": "string", "use_description_sha256": "string", "notice_given_at": "string",
        "notice_hours": "number", "covers_project_explicitly": "bool", "estate_consent": "bool",
    },
    "performer": {"depicted": "bool", "named_in_prompt": "bool", "in_reference": "bool",
                  "consent_pending": "bool", "consents": "records"},
    # the image itself, reviewed after generation and before signing (``lifecycle.output_review``)
    "output": {
        "sha256": "string", "width": "number", "height": "number",
        "nearest_asset": "string", "nearest_title": "string", "nearest_distance": "number",
        "nearest_origin": "string", "nearest_licence": "string", "nearest_licence_covers_use": "bool",
        "watchlist_asset": "string", "watchlist_distance": "number",
        "faces": "number", "people_matched": "list", "undeclared_people": "list",
        "minors_without_guardian": "list", "style_distance": "number", "look_references": "number",
    },
    # a training run asked for (``lifecycle.training_runs``). Slate reads every member of the set
    # and every person linked to one, and lists (at most ``TRAINING_LISTED`` of) those that fail:
    # a member whose licence does not grant AI training in this production, territory and
    # date (or was taken down), a person with no confirmed, unrevoked consent covering AI
    # training here. The ``*_count`` facts count them all.
    "training": {
        "id": "string", "production": "string", "territory": "string", "date": "date",
        "base": "string", "base_status": "string", "base_weights_hash": "string", "base_licence": "string",
        "method": "string", "steps": "number", "rank": "number", "learning_rate": "number",
        "batch_size": "number", "resolution": "number", "seed": "number",
        "training_set": "string", "training_set_root": "string", "model": "string",
        "members": "number", "members_without_ai_training": "list",
        "members_without_ai_training_count": "number",
        "people": "list", "people_without_ai_training_consent": "list",
        "people_without_ai_training_consent_count": "number",
    },
}

#: An output's facts where a policy test does not say otherwise: an image like no registered
#: work, with no face in it (what ``lifecycle.output_review`` measures for a novel image).
OUTPUT_DEFAULTS: dict[str, Any] = {
    "sha256": "0" * 64, "width": 512, "height": 512, "nearest_asset": None, "nearest_title": None,
    "nearest_distance": 1.0, "nearest_origin": "none", "nearest_licence": None,
    "nearest_licence_covers_use": False, "watchlist_asset": None, "watchlist_distance": 1.0, "faces": 0,
    "people_matched": [], "undeclared_people": [], "minors_without_guardian": [], "style_distance": None,
    "look_references": 0,
}

#: A training run's facts where a policy test does not say otherwise: a LoRA on an approved
#: base from a set whose every member and linked person is cleared for AI training.
TRAINING_DEFAULTS: dict[str, Any] = {
    "id": "run_test", "production": None, "territory": "GB", "date": "2026-06-01",
    "base": "sd-base", "base_status": "approved", "base_weights_hash": "b" * 64,
    "base_licence": "CreativeML OpenRAIL-M",
    "method": "lora", "steps": 100, "rank": 4, "learning_rate": 0.0001, "batch_size": 1, "resolution": 64,
    "seed": 0, "training_set": "harbour-set", "training_set_root": "a" * 64, "model": "harbour-lora:1",
    "members": 2, "members_without_ai_training": [], "members_without_ai_training_count": 0,
    "people": [], "people_without_ai_training_consent": [], "people_without_ai_training_consent_count": 0,
}
#: how many failing members or people a training run's facts name (the counts count them all)
TRAINING_LISTED = 20

#: Lists of records a quantifier may range over, and the record each item is.
RECORD_LISTS: dict[tuple[str, str], str] = {("performer", "consents"): "consent"}

#: Facts roots whose records carry the catalogue's custom ``attributes``, and the record
#: kind the catalogue declares them under.
ATTRIBUTE_KINDS: dict[str, str] = {
    "licence": "licence", "consent": "consent", "person": "person", "asset": "asset",
    "production": "production", "requester": "user",
}

#: Where a rule looks, and which roots it may read there.
TARGETS: dict[str, str | None] = {
    "request": None,
    "reference": "references",
    "training_asset": "training_assets",
    "performer": "performers",
    "output": "outputs",
    "training": "trainings",
}
#: The collections a quantifier may range over without a path: each item is one subject
#: of the target named, with that target's own roots.
COLLECTIONS: dict[str, str] = {key: target for target, key in TARGETS.items() if key is not None}
GLOBAL_ROOTS = ("request", "requester", "model", "production")
ROOTS: dict[str, tuple[str, ...]] = {
    "request": GLOBAL_ROOTS,
    "reference": GLOBAL_ROOTS + ("asset", "licence"),
    "training_asset": GLOBAL_ROOTS + ("asset", "licence"),
    "performer": GLOBAL_ROOTS + ("person", "consent", "performer"),
    "output": GLOBAL_ROOTS + ("output",),
    "training": GLOBAL_ROOTS + ("training",),
}
#: The roots a subject of each target carries itself (what a quantified item offers).
SUBJECT_ROOTS: dict[str, tuple[str, ...]] = {t: tuple(r for r in roots if r not in GLOBAL_ROOTS)
                                             for t, roots in ROOTS.items()}

#: Paths whose values evidence must never show whole (they are derived from the prompt).
SENSITIVE = frozenset({"request.prompt_terms"})

USES = ("concept", "previs", "final_frame", "marketing")
#: The licence grant and consent use that training a model on an image (or a person in it) needs.
AI_TRAINING = "ai_training"
#: The consent use that a depicted or named person's likeness needs.
LIKENESS = "likeness"
#: The consent use that a person shown in a reference image needs.
REFERENCE = "reference"
WORLDWIDE = "WW"
ALL_PRODUCTIONS = "*"
#: A consent awaiting its second legal review (four eyes): it never counts, whatever the policy.
PENDING = "pending"

def prompt_terms(prompt: str) -> list[str]:
    """The prompt's distinct lowercased words, sorted: what a policy may check, never the text."""
    return sorted(set(folded_words(prompt)))


def names_in_prompt(prompt: str, registered: Iterable[str]) -> list[str]:
    """Registered people's names that appear in the prompt as whole words, any case. A name
    can appear only where its first word does (``words.first_word``): the registry reads only
    those people (``registry_facts.named_in_prompt``)."""
    folded = " " + " ".join(folded_words(prompt)) + " "
    found = []
    for name in registered:
        words = folded_words(name)
        if words and f" {' '.join(words)} " in folded:
            found.append(name)
    return sorted(set(found))


def _covers(scope: Iterable[str] | None, value: str, everything: str) -> bool:
    scope = list(scope or [])
    return everything in scope or value in scope


def uses_needed(*, depicted: bool, named_in_prompt: bool, in_reference: bool) -> tuple[str, ...]:
    """The consent uses a performer's part in the request calls for (likeness by default)."""
    needs = ((LIKENESS,) if depicted or named_in_prompt else ()) + ((REFERENCE,) if in_reference else ())
    return needs or (LIKENESS,)


def consent_fit(consent: Mapping[str, Any], request: Mapping[str, Any],
                needs: tuple[str, ...] = (LIKENESS,)) -> tuple[int, ...]:
    """How well one consent covers this request: a sortable score, best first when reversed.

    Used only to pick which of a person's consents the policy's rules should judge, so
    that a performer with one expired and one current consent is judged on the current
    one, and a performer with none that fits is judged on the closest, whose evidence
    then says exactly what is missing. Whether the consent suffices is the policy's call.
    """
    day = request.get("date") or ""
    checks = (
        not consent.get("revoked"),
        all(use in (consent.get("uses") or []) for use in needs),
        _covers(consent.get("productions"), request.get("production") or "", ALL_PRODUCTIONS),
        _covers(consent.get("territories"), request.get("territory") or "", WORLDWIDE),
        (consent.get("valid_from") or "") <= day <= (consent.get("valid_until") or "9999-12-31"),
        # of a blanket consent and one naming this production, the one naming it (a replica
        # is renewed per project: ``consent_terms``)
        request.get("production") in (consent.get("productions") or []),
    )
    return (sum(checks),) + tuple(int(c) for c in checks) + (str(consent.get("valid_until") or ""),)


def choose_consent(consents: Sequence[Mapping[str, Any]], request: Mapping[str, Any],
                   needs: tuple[str, ...] = (LIKENESS,)) -> Mapping[str, Any] | None:
    """The consent a performer's rules are judged on (see ``consent_fit``); None if they have none.

    A pending consent is never chosen: until a second legal user confirms it, it is not yet
    a consent, under any policy (``performer.consent_pending`` says one is waiting).
    """
    counted = [c for c in consents if c.get("status") != PENDING]
    if not counted:
        return None
    return max(counted, key=lambda c: (consent_fit(c, request, needs), str(c.get("id"))))


def has_pending(consents: Iterable[Mapping[str, Any]]) -> bool:
    return any(c.get("status") == PENDING for c in consents)


def notice_hours(notice_given_at: str | None, request_date: str | None) -> int | None:
    """Whole hours from when notice was given to the start (00:00 UTC) of the request's date.

    The start of the day, not the moment of asking: a request's facts carry its date only, and
    counting from midnight can only make the notice look shorter than it was (fails closed)
    while keeping the fact the same for every request of that day. None when no notice was given.
    """
    if not notice_given_at or not request_date:
        return None
    given = datetime.fromisoformat(str(notice_given_at).replace("Z", "+00:00"))
    given = given.replace(tzinfo=timezone.utc) if given.tzinfo is None else given
    day = datetime.fromisoformat(str(request_date)[:10]).replace(tzinfo=timezone.utc)
    return int((day - given).total_seconds() // 3600)


def consent_terms(consent: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """A consent's facts with what its terms mean for this request: whether it names the
    request's production itself (``*`` never renews a replica for a new project) and how many
    hours of notice the performer had. Values a policy test wrote by hand are kept."""
    out = dict(consent)
    if out.get("covers_project_explicitly") is None:
        out["covers_project_explicitly"] = bool(request.get("production")) and \
            request.get("production") in (out.get("productions") or [])
    if out.get("notice_hours") is None:
        out["notice_hours"] = notice_hours(out.get("notice_given_at"), request.get("date"))
    return out


def performer(person: Mapping[str, Any], consents: Sequence[Mapping[str, Any]], request: Mapping[str, Any], *,
              depicted: bool, named_in_prompt: bool, in_reference: bool = False) -> dict[str, Any]:
    """One entry of ``performers``, with the consent its rules are judged on chosen."""
    consents = [consent_terms(c, request) for c in consents]
    needs = uses_needed(depicted=depicted, named_in_prompt=named_in_prompt, in_reference=in_reference)
    return {
        "subject": f"person:{person['name']}",
        "person": dict(person),
        "consent": choose_consent(consents, request, needs),
        "consents": [dict(c) for c in consents],
        "consent_pending": has_pending(consents),
        "depicted": depicted,
        "named_in_prompt": named_in_prompt,
        "in_reference": in_reference,
    }


def records_used(facts: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Ids and versions of the registry records a decision relied on, for its audit trail."""
    consents = {(str(p["consent"]["id"]), p["consent"].get("version"))
                for p in facts.get("performers") or [] if p.get("consent")}
    licences = {(str(e["licence"]["id"]), e["licence"].get("version"))
                for key in ("references", "training_assets") for e in facts.get(key) or []
                if e.get("licence")}
    model = facts.get("model") or {}
    models = {(str(model["id"]), model.get("version"))} if model.get("id") is not None else set()

    def rows(pairs: set[tuple[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": i, "version": v} for i, v in sorted(pairs, key=lambda p: (p[0], str(p[1])))]

    return {"consents": rows(consents), "licences": rows(licences), "models": rows(models)}


def complete(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts as a person writes them (in a policy test) made whole, the way the facts builder
    makes them: a ``request.prompt`` becomes ``prompt_terms`` and ``named_people`` (and is
    dropped), subjects are named, each performer's consent is chosen from ``consents``
    unless given, and flags get their defaults."""
    out = {k: v for k, v in facts.items()}
    request = dict(out.get("request") or {})
    performers = [dict(p) for p in out.get("performers") or []]
    prompt = request.pop("prompt", None)
    if prompt is not None:
        request["prompt_terms"] = prompt_terms(prompt)
        names = [p["person"]["name"] for p in performers if p.get("person", {}).get("name")]
        request["named_people"] = names_in_prompt(prompt, names)
    request.setdefault("prompt_terms", [])
    request.setdefault("named_people", [])
    for p in performers:
        person = p.get("person") or {}
        p.setdefault("subject", f"person:{person.get('name')}")
        p["consents"] = [consent_terms(c, request) for c in p.get("consents") or []]
        if isinstance(p.get("consent"), Mapping):
            p["consent"] = consent_terms(p["consent"], request)
        p.setdefault("consent_pending", has_pending(p["consents"]))
        p.setdefault("depicted", True)
        p.setdefault("named_in_prompt", person.get("name") in request["named_people"])
        p.setdefault("in_reference", False)
        if "consent" not in p:
            needs = uses_needed(depicted=p["depicted"], named_in_prompt=p["named_in_prompt"],
                                in_reference=p["in_reference"])
            p["consent"] = choose_consent(p["consents"], request, needs)
    request.setdefault("depicts_people", any(p["depicted"] for p in performers))
    request.setdefault("people", [p["person"]["name"] for p in performers
                                  if p["depicted"] and (p.get("person") or {}).get("name")])
    out["request"] = request
    out["requester"] = _requester(out.get("requester"), request)
    production = dict(out.get("production") or {})
    production.setdefault("name", request.get("production"))
    production.setdefault("attributes", {})
    out["production"] = production
    out["performers"] = performers
    for key in ("references", "training_assets"):
        out[key] = [_with_asset_subject(e) for e in out.get(key) or []]
    out.setdefault("model", None)
    return out


def _requester(given: Mapping[str, Any] | None, request: Mapping[str, Any]) -> dict[str, Any]:
    """Who asked: as given, each missing part defaulting to a producer of the request's own
    production (what a test that does not care about the requester means)."""
    requester = dict(given or {})
    requester.setdefault("name", request.get("requester"))
    requester.setdefault("roles", ["producer"])
    requester.setdefault("productions", [request["production"]] if request.get("production") else [])
    requester.setdefault("department", None)
    requester.setdefault("attributes", {})
    return requester


def _with_asset_subject(entry: Mapping[str, Any]) -> dict[str, Any]:
    entry = dict(entry)
    entry.setdefault("subject", f"asset:{(entry.get('asset') or {}).get('sha256')}")
    entry.setdefault("licence", None)
    return entry
