"""Who may record which rights, four eyes on consents, kept consent documents, and what a
producer of one production can see of another: the registry's own functions, no HTTP."""

from __future__ import annotations

from datetime import date

import pytest

from governance import revocation
from governance.errors import Conflict, Forbidden, InvalidInput, NotFound
from governance.principal import Principal
from governance.registry import assets, consents, licences, models_registry, people, training_sets
from governance.registry.tables import Consent, ConsentDocument, ConsentEvent, Licence, Person, TrainingSet
from tests import rights
from tests.rights import LEE, LOU

PAT = Principal(0, "pat-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))
NIA = Principal(0, "nia-producer", frozenset({"producer"}), frozenset({"northern-line"}))
ADMIN = Principal(0, "root-admin", frozenset({"admin"}))
TERMS = dict(uses=["likeness"], productions=["harbour-lights"], territories=["GB"],
             valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31))


@pytest.fixture
def world(db):
    """Two productions; Mara (adult) and Kit (a minor, guardian Sam Young) take part in harbour-lights."""
    people.add_production("harbour-lights")
    people.add_production("northern-line")
    people.add_person("Mara Quinn", productions=["harbour-lights"], by=PAT)
    people.add_person("Kit Young", is_minor=True, guardian="Sam Young", productions=["harbour-lights"], by=PAT)
    licences.add_licence("LIC-1", "Northlight", grants=["ai_training", "previs"], territories=["WW"],
                         starts_on=date(2026, 1, 1), by=LEE)
    return db


# ---------------------------------------------------------------- who writes what

@pytest.mark.parametrize("who", [PAT, ADMIN], ids=["producer", "admin"])
def test_only_legal_records_the_facts_that_decide_requests(world, who):
    store = rights.store(world)
    form = rights.consent_form()
    attempts = [
        lambda: consents.grant_consent("Mara Quinn", **TERMS, document=form, store=store, by=who),
        lambda: consents.record_document(form, store, by=who),
        lambda: licences.add_licence("LIC-2", "X", grants=["previs"], territories=["GB"],
                                     starts_on=date(2026, 1, 1), by=who),
        lambda: revocation.take_down("LIC-1", "forged complaint", by=who),
        lambda: training_sets.create_training_set("set", [], by=who),
        lambda: models_registry.register_model("m", "1", "a" * 64, by=who),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden, match="only legal"):
            attempt()
    assert Consent.select().count() == 0 and ConsentDocument.select().count() == 0
    assert Licence.get(Licence.ref == "LIC-1").takedown is False
    assert Licence.select().count() == 1 and TrainingSet.select().count() == 0


def test_a_producer_registers_assets_without_a_licence_for_their_own_production(world):
    asset, created = assets.register_asset(b"plate", media_type="image/png", title="Plate",
                                           production="harbour-lights", by=PAT)
    assert created and asset["production"] == "harbour-lights" and asset["licence"] is None
    with pytest.raises(Forbidden, match="only legal may record which licence"):
        assets.register_asset(b"plate 2", media_type="image/png", title="Plate 2", licence="LIC-1",
                              production="harbour-lights", by=PAT)
    with pytest.raises(Forbidden, match="name the production"):
        assets.register_asset(b"plate 3", media_type="image/png", title="Plate 3", by=PAT)
    with pytest.raises(NotFound, match="in your productions"):
        assets.register_asset(b"plate 4", media_type="image/png", title="Plate 4",
                              production="northern-line", by=PAT)
    assert assets.set_licence(asset["sha256"], "LIC-1", by=LEE)["licence"] == "LIC-1"


def test_a_producer_registers_people_only_for_their_own_productions(world):
    with pytest.raises(NotFound, match="'harbour-lights' exists in your productions"):
        people.add_person("Ana Silva", productions=["harbour-lights"], by=NIA)
    with pytest.raises(Forbidden, match="name the production"):
        people.add_person("Ana Silva", by=NIA)
    assert Person.select().where(Person.name == "Ana Silva").count() == 0
    assert people.add_person("Ana Silva", productions=["northern-line"], by=NIA)["productions"] == ["northern-line"]


# ---------------------------------------------------------------- four eyes

def test_a_likeness_consent_is_pending_until_a_second_legal_user_confirms_it(world):
    granted = rights.grant_consent(world, "Mara Quinn", confirm=False, **TERMS)
    assert granted["status"] == "pending" and granted["recorded_by"] == "lee-legal"
    with pytest.raises(Forbidden, match="a second legal user must confirm"):
        consents.confirm_consent(granted["id"], by=LEE)
    with pytest.raises(Forbidden, match="only legal"):
        consents.confirm_consent(granted["id"], by=PAT)
    assert Consent.get_by_id(granted["id"]).status == "pending"
    confirmed = consents.confirm_consent(granted["id"], by=LOU, comment="read the scan")
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"] == "lou-legal"
    assert confirmed["version"] == granted["version"] + 1
    assert [e["event"] for e in consents.consent_history(granted["id"])] == ["granted", "confirmed"]
    with pytest.raises(Conflict, match="already confirmed by lou-legal"):
        consents.confirm_consent(granted["id"], by=LOU)


def test_a_consent_that_unlocks_no_likeness_of_an_adult_counts_at_once(world):
    granted = rights.grant_consent(world, "Mara Quinn", confirm=False, **{**TERMS, "uses": ["voice"]})
    assert granted["status"] == "confirmed" and granted["confirmed_by"] is None


def test_a_minors_consent_of_any_use_needs_four_eyes(world):
    granted = rights.grant_consent(world, "Kit Young", confirm=False, **{**TERMS, "uses": ["voice"]},
                                   guardian_signed=True, guardian_relationship="father")
    assert granted["status"] == "pending"


def test_a_revoked_pending_consent_cannot_be_confirmed(world):
    granted = rights.grant_consent(world, "Mara Quinn", confirm=False, **TERMS)
    revocation.revoke_consent(granted["id"], "recorded in error", by=LEE)
    with pytest.raises(Conflict, match="revoked"):
        consents.confirm_consent(granted["id"], by=LOU)


# ---------------------------------------------------------------- a minor's guardian

@pytest.mark.parametrize("guardian, relationship, message", [
    (None, None, "must name the guardian and their relationship"),
    ("Sam Young", None, "must name the guardian and their relationship"),
    ("Made Up Person", "father", "registered guardian is someone else"),
])
def test_a_minors_consent_names_the_registered_guardian_and_relationship(world, guardian, relationship, message):
    with pytest.raises(InvalidInput, match=message):
        rights.grant_consent(world, "Kit Young", **TERMS, guardian_signed=True, guardian_name=guardian,
                             guardian_relationship=relationship)
    assert Consent.select().count() == 0 and ConsentEvent.select().count() == 0


def test_a_guardian_named_in_another_case_is_the_same_guardian(world):
    granted = rights.grant_consent(world, "Kit Young", **TERMS, guardian_signed=True, guardian_name="sam young",
                                   guardian_relationship="father")
    assert granted["guardian_name"] == "sam young"


# ---------------------------------------------------------------- the document is kept

def test_a_consent_rests_on_a_document_slate_keeps(world):
    with pytest.raises(InvalidInput, match="signed consent document, kept by Slate"):
        consents.grant_consent("Mara Quinn", **TERMS, document_sha256="ab" * 32, by=LEE)
    kept = consents.record_document(rights.consent_form("Mara"), rights.store(world), by=LEE)
    granted = consents.grant_consent("Mara Quinn", **TERMS, document_sha256=kept["sha256"], by=LEE)
    assert granted["document_sha256"] == kept["sha256"] and granted["document_stored"]
    content, media_type = consents.consent_document(granted["id"], rights.store(world), LEE)
    assert media_type == "application/pdf" and content == rights.consent_form("Mara")


def test_a_document_that_is_not_a_pdf_or_image_is_refused_and_nothing_is_recorded(world):
    with pytest.raises(InvalidInput):
        rights.grant_consent(world, "Mara Quinn", **TERMS, document=b"I, Mara, agree. (a text file)")
    assert Consent.select().count() == 0 and ConsentDocument.select().count() == 0


def test_only_legal_and_auditors_read_consent_documents(world):
    granted = rights.grant_consent(world, "Mara Quinn", **TERMS)
    auditor = Principal(0, "aud", frozenset({"auditor"}))
    assert consents.consent_document(granted["id"], rights.store(world), auditor)[1] == "application/pdf"
    for who in (PAT, Principal(0, "ada", frozenset({"approver"}))):
        with pytest.raises(Forbidden):
            consents.consent_document(granted["id"], rights.store(world), who)


# ---------------------------------------------------------------- what a producer sees

def test_a_producer_sees_nothing_of_another_productions_people_and_consents(world):
    kit = rights.grant_consent(world, "Kit Young", **TERMS, guardian_signed=True, guardian_relationship="father")
    assert [p["name"] for p in people.list_people(NIA)] == []
    assert consents.list_consents(by=NIA) == []
    assert [c["id"] for c in consents.list_consents(by=PAT)] == [kit["id"]]
    # a hidden record and a missing one answer in the same words
    for ref, missing in (("Kit Young", "Nobody Atall"),):
        with pytest.raises(NotFound) as hidden:
            people.find_person(ref, NIA)
        with pytest.raises(NotFound) as absent:
            people.find_person(missing, NIA)
        assert str(hidden.value).replace(ref, "X") == str(absent.value).replace(missing, "X")
    with pytest.raises(NotFound) as hidden:
        consents.find_consent(kit["id"], NIA)
    with pytest.raises(NotFound) as absent:
        consents.find_consent(999_999, NIA)
    assert str(hidden.value).replace(str(kit["id"]), "N") == str(absent.value).replace("999999", "N")
    with pytest.raises(NotFound):
        consents.list_consents("Kit Young", by=NIA)


def test_a_consent_for_all_productions_is_seen_where_its_person_takes_part(world):
    everywhere = rights.grant_consent(world, "Mara Quinn", **{**TERMS, "productions": ["*"]})
    assert [c["id"] for c in consents.list_consents(by=PAT)] == [everywhere["id"]]
    assert consents.list_consents(by=NIA) == []
    people.link_production("Mara Quinn", "northern-line", by=LEE)
    assert [c["id"] for c in consents.list_consents(by=NIA)] == [everywhere["id"]]


def test_only_legal_adds_a_person_to_another_production(world):
    with pytest.raises(Forbidden):
        people.link_production("Mara Quinn", "northern-line", by=NIA)
    assert people.find_person("Mara Quinn", PAT).name == "Mara Quinn"
    with pytest.raises(NotFound):
        people.find_person("Mara Quinn", NIA)


def test_assets_of_another_production_are_hidden_even_by_prefix(world):
    theirs, _ = assets.register_asset(b"harbour only", media_type="image/png", title="Secret plate",
                                      production="harbour-lights", by=PAT)
    library, _ = assets.register_asset(b"library plate", media_type="image/png", title="L", licence="LIC-1", by=LEE)
    assert [a["sha256"] for a in assets.list_assets(by=NIA)] == [library["sha256"]]
    for ref in (theirs["sha256"], theirs["sha256"][:10], str(theirs["id"])):
        with pytest.raises(NotFound, match="in your productions"):
            assets.find_asset(ref, NIA)
    assert assets.find_asset(library["sha256"][:10], NIA).id == library["id"]
    # the same bytes registered again from the other production say only that they exist
    with pytest.raises(Conflict) as clash:
        assets.register_asset(b"harbour only", media_type="image/png", title="Mine now",
                              production="northern-line", by=NIA)
    said = clash.value.message + (clash.value.hint or "")
    assert "harbour" not in said and "Secret" not in said and theirs["sha256"][:8] not in said


def test_licences_are_seen_through_the_assets_they_cover(world):
    licences.add_licence("LIC-HARBOUR", "Harbour Archive", grants=["previs"], territories=["GB"],
                         starts_on=date(2026, 1, 1), by=LEE)
    sha = assets.register_asset(b"h", media_type="image/png", title="h", production="harbour-lights", by=PAT)[0]
    assets.set_licence(sha["sha256"], "LIC-HARBOUR", by=LEE)
    assert "LIC-HARBOUR" in [lic["ref"] for lic in licences.list_licences(PAT)]
    assert "LIC-HARBOUR" not in [lic["ref"] for lic in licences.list_licences(NIA)]
    with pytest.raises(NotFound, match="in your productions"):
        licences.find_licence("LIC-HARBOUR", NIA)
