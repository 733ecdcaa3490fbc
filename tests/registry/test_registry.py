"""Registry behaviour, run against SQLite and a real PostgreSQL server alike."""

from datetime import date

import pytest

from governance import revocation
from governance.errors import Conflict, InvalidInput, NotFound
from governance.registry import assets, consents, licences, models_registry, people, training_sets
from governance.registry.merkle import verify_proof
from governance.registry.tables import Asset, Consent, ConsentEvent, Person
from tests import rights


def make_licence(ref="LIC-1", **kw):
    args = dict(grants=["ai_training", "previs"], territories=["GB", "US"], starts_on=date(2026, 1, 1),
                ends_on=date(2027, 12, 31))
    args.update(kw)
    return licences.add_licence(ref, "Northlight Archive", **args)


def test_same_bytes_register_once(any_db):
    make_licence()
    first, created = assets.register_asset(b"frame-1", media_type="image/png", title="Frame 1", licence="LIC-1")
    again, created_again = assets.register_asset(b"frame-1", media_type="image/png", title="Another title")
    assert created and not created_again
    assert again["id"] == first["id"] and again["title"] == "Frame 1"
    assert Asset.select().count() == 1


def test_asset_links_people_and_licence(any_db):
    make_licence()
    people.add_person("Mara Quinn")
    asset, _ = assets.register_asset(b"headshot", media_type="image/jpeg", title="Headshot",
                                     licence="LIC-1", people=["Mara Quinn"])
    assert asset["people"] == ["Mara Quinn"] and asset["licence"] == "LIC-1"
    assert [a["sha256"] for a in assets.list_assets(person="Mara Quinn")] == [asset["sha256"]]


def test_consent_revocation_keeps_history(any_db):
    people.add_production("harbour-lights")
    people.add_person("Mara Quinn")
    granted = rights.grant_consent(any_db, "Mara Quinn", uses=["likeness", "ai_training"],
                                   productions=["harbour-lights"], territories=["gb"],
                                   valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))
    revoked = revocation.revoke_consent(granted["id"], "performer withdrew", actor="legal@studio")
    assert revoked["revoked"] and revoked["revoked_reason"] == "performer withdrew"
    assert revoked["version"] == granted["version"] + 1 and revoked["status"] == "revoked"
    # nothing deleted: the grant is still there with its original scope, plus every event
    row = Consent.get_by_id(granted["id"])
    assert row.uses == ["ai_training", "likeness"] and row.territories == ["GB"]
    assert [e["event"] for e in consents.consent_history(granted["id"])] == ["granted", "confirmed", "revoked"]
    assert ConsentEvent.select().count() == 3
    with pytest.raises(Conflict):
        revocation.revoke_consent(granted["id"], "again")


def test_consent_for_unknown_person_is_refused_and_writes_nothing(any_db):
    with pytest.raises(NotFound, match="no person 'Nobody'"):
        rights.grant_consent(any_db, "Nobody", uses=["likeness"], productions=["*"], territories=["WW"],
                             valid_from=date(2026, 1, 1), valid_until=date(2026, 2, 1))
    assert Consent.select().count() == 0


def test_consent_for_unknown_production_rolls_back(any_db):
    people.add_person("Mara Quinn")
    with pytest.raises(NotFound, match="production"):
        rights.grant_consent(any_db, "Mara Quinn", uses=["likeness"], productions=["nope"], territories=["GB"],
                             valid_from=date(2026, 1, 1), valid_until=date(2026, 2, 1))
    assert Consent.select().count() == 0 and ConsentEvent.select().count() == 0


def test_minor_needs_a_guardian(any_db):
    with pytest.raises(InvalidInput, match="guardian"):
        people.add_person("Kit Young", is_minor=True)
    person = people.add_person("Kit Young", is_minor=True, guardian="Sam Young")
    consent = rights.grant_consent(any_db, "Kit Young", uses=["likeness"], productions=["*"], territories=["WW"],
                                   valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 1),
                                   guardian_signed=True, guardian_relationship="father")
    assert person["is_minor"] and consent["guardian_name"] == "Sam Young"
    assert consent["guardian_relationship"] == "father" and consent["confirmed_by"] == "lou-legal"


@pytest.mark.parametrize("kwargs, message", [
    (dict(ends_on=date(2025, 1, 1)), "ends .* before it starts"),
    (dict(grants=["fly"]), "not a known licence grant"),
    (dict(territories=["Great Britain"]), "not a territory"),
    (dict(attribution_required=True), "credit text"),
])
def test_bad_licences_are_refused_clearly(any_db, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        make_licence(**kwargs)


def test_duplicate_names_conflict(any_db):
    make_licence()
    with pytest.raises(Conflict):
        make_licence()
    people.add_person("A")
    with pytest.raises(Conflict):
        people.add_person("A")


def test_training_set_root_and_proofs(any_db):
    make_licence()
    make_licence("LIC-2", grants=["ai_training"])
    shas = [assets.register_asset(f"img-{i}".encode(), media_type="image/png", title=f"img {i}",
                                  licence="LIC-1" if i % 2 else "LIC-2")[0]["sha256"] for i in range(7)]
    ts = training_sets.create_training_set("style-v1", [(s, None) for s in shas[:5]])
    assert ts["size"] == 5 and len(ts["merkle_root"]) == 64
    inside = training_sets.prove("style-v1", shas[2])
    outside = training_sets.prove("style-v1", shas[6])
    assert inside["kind"] == "inclusion" and verify_proof(inside, ts["merkle_root"])
    assert outside["kind"] == "non-membership" and verify_proof(outside, ts["merkle_root"])
    # same members, other order, other name: same root
    again = training_sets.create_training_set("style-v1b", [(s, None) for s in reversed(shas[:5])])
    assert again["merkle_root"] == ts["merkle_root"]


def test_training_set_member_without_licence_is_refused(any_db):
    sha = assets.register_asset(b"unlicensed", media_type="image/png", title="u")[0]["sha256"]
    with pytest.raises(InvalidInput, match="has no licence"):
        training_sets.create_training_set("bad", [(sha, None)])
    with pytest.raises(NotFound, match="licence 'LIC-X'"):
        training_sets.create_training_set("bad", [(sha, "LIC-X")])
    assert training_sets.list_training_sets() == []


def test_model_lifecycle(any_db):
    make_licence()
    sha = assets.register_asset(b"a", media_type="image/png", title="a", licence="LIC-1")[0]["sha256"]
    ts = training_sets.create_training_set("set", [(sha, None)])
    model = models_registry.register_model("slate-studio", "1.0", "c" * 64, training_set="set")
    assert model["status"] == "registered" and model["training_set_root"] == ts["merkle_root"]
    assert models_registry.set_status("slate-studio:1.0", "approved")["status"] == "approved"
    retired = models_registry.set_status("slate-studio", "retired", "superseded")
    assert retired["status"] == "retired" and retired["status_reason"] == "superseded"
    with pytest.raises(Conflict, match="retired"):
        models_registry.set_status("slate-studio:1.0", "approved")
    with pytest.raises(Conflict):
        models_registry.register_model("slate-studio", "1.0", "d" * 64)
    with pytest.raises(InvalidInput, match="SHA-256"):
        models_registry.register_model("other", "1", "not-a-hash")


def test_unknown_ids_are_not_found(any_db):
    for call in (lambda: people.get_person("ghost"), lambda: licences.get_licence("LIC-404"),
                 lambda: assets.get_asset("f" * 64), lambda: models_registry.get_model("m:1"),
                 lambda: training_sets.get_training_set("nope"), lambda: consents.get_consent(99)):
        with pytest.raises(NotFound):
            call()
    assert Person.select().count() == 0


@pytest.mark.parametrize("ref", ["³", "٣", "9" * 30, "1" * 19])
def test_lookups_by_odd_numbers_are_not_found_not_crashes(any_db, ref):
    """'³' passes str.isdigit but not int(); 30 digits overflow the database integer."""
    for call in (lambda: people.get_person(ref), lambda: people.get_production(ref),
                 lambda: licences.get_licence(ref), lambda: training_sets.get_training_set(ref),
                 lambda: models_registry.get_model(ref), lambda: assets.get_asset(ref)):
        with pytest.raises(NotFound):  # not an id, so looked up as a name (or a hash prefix) that misses
            call()
    with pytest.raises(InvalidInput):
        consents.get_consent(ref)
