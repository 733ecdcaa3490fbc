"""The attacks of issue 13, tried again over the real API: each must now fail to succeed.

Two productions: harbour-lights (the demo studio: Mara Quinn, the minor Kit Young, signed
outputs) and northern-line, whose producer nia belongs to no other. Legal users lee and lou
are the demo's two legal users.
"""

from __future__ import annotations

import io
import json

import pytest

from governance.auth.users import add_user, issue_token
from governance.registry.tables import Consent, ConsentDocument, Licence, Person
from tests import rights
from tests.api.conftest import auth
from tests.provenance.conftest import (  # noqa: F401 (fixtures)
    provenance_signed_stage,
    provenance_studio_stage,
    signed,
    studio,
)


@pytest.fixture
def world(signed):
    add_user("nia-producer", ["producer"], ["northern-line"])
    signed.tokens["nia-producer"] = issue_token("nia-producer")["token"]
    return signed


def call(world, who, method, path, **kw):
    return world.client.open(path, method=method, headers=auth(world.tokens[who]), **kw)


def kept_document(world, who="lee-legal", content=None):
    return call(world, who, "POST", "/api/v1/consent-documents", content_type="multipart/form-data",
                data={"file": (io.BytesIO(content or rights.consent_form()), "consent.pdf", "application/pdf")})


def consent_of(name: str) -> Consent:
    return Consent.select().join(Person).where(Person.name == name).order_by(Consent.id).first()


MINOR_CONSENT = {"person": "Kit Young", "uses": ["likeness"], "productions": ["harbour-lights"],
                 "territories": ["GB"], "valid_from": "2026-01-01", "valid_until": "2030-12-31",
                 "document_sha256": "ab" * 32, "guardian_signed": True, "guardian_name": "Made Up Guardian",
                 "guardian_relationship": "aunt",
                 # performers' terms (studio policy v7): an employment-based replica, described, with notice
                 "replica_type": "employment_based", "use_description": "The child's likeness in previs.",
                 "notice_given_at": "2025-12-01T00:00:00Z"}


def test_a_producer_cannot_record_a_minors_consent_with_a_forged_guardian(world):
    before = Consent.select().count()
    for producer in ("nia-producer", "pat-producer"):  # the other production's, and Kit's own
        forged = call(world, producer, "POST", "/api/v1/consents", json=MINOR_CONSENT)
        assert forged.status_code == 403, forged.json
        assert forged.mimetype == "application/problem+json" and "legal" in forged.json["detail"]
        assert kept_document(world, producer).status_code == 403
    assert Consent.select().count() == before and ConsentDocument.select().count() == 2  # the demo's two
    # Kit Young is still refused in her own production, with the evidence the policy always gave
    view = world.submit(people=["Kit Young"], prompt="a child on the quay")
    assert view["status"] == "denied"
    assert "minor-guardian-signature" in {v["rule"] for v in view["decision"]["violations"]}


def test_legal_cannot_name_a_guardian_other_than_the_registered_one(world):
    sha = kept_document(world).json["sha256"]
    forged = call(world, "lee-legal", "POST", "/api/v1/consents", json={**MINOR_CONSENT, "document_sha256": sha})
    assert forged.status_code == 422 and "registered guardian is someone else" in forged.json["detail"]
    assert "Sam Young" not in json.dumps(forged.json)  # the registered guardian is not disclosed
    assert consent_of("Kit Young").guardian_signed is False


def test_a_minors_consent_counts_only_after_a_second_legal_user_confirms_it(world):
    registered = call(world, "pat-producer", "POST", "/api/v1/people",
                      json={"name": "Ivy Park", "is_minor": True, "guardian": "Rosa Park",
                            "productions": ["harbour-lights"]})
    assert registered.status_code == 201, registered.json
    sha = kept_document(world).json["sha256"]
    recorded = call(world, "lee-legal", "POST", "/api/v1/consents",
                    json={**MINOR_CONSENT, "person": "Ivy Park", "guardian_name": "Rosa Park",
                          "guardian_relationship": "mother", "document_sha256": sha})
    assert recorded.status_code == 201 and recorded.json["status"] == "pending", recorded.json
    consent_id = recorded.json["id"]

    view = world.submit(people=["Ivy Park"], prompt="a child on the quay")
    assert view["status"] == "denied"
    by_rule = {v["rule"]: v for v in view["decision"]["violations"]}
    assert set(by_rule) == {"consent-confirmed", "consent-on-file"}
    assert by_rule["consent-confirmed"]["evidence"][0]["path"] == "performer.consent_pending"

    own = call(world, "lee-legal", "POST", f"/api/v1/consents/{consent_id}/confirm", json={})
    assert own.status_code == 403 and "second legal user" in own.json["detail"]
    by_producer = call(world, "pat-producer", "POST", f"/api/v1/consents/{consent_id}/confirm", json={})
    assert by_producer.status_code == 403
    assert Consent.get_by_id(consent_id).status == "pending"
    confirmed = call(world, "lou-legal", "POST", f"/api/v1/consents/{consent_id}/confirm",
                     json={"comment": "read the signed form"})
    assert confirmed.status_code == 200 and confirmed.json["confirmed_by"] == "lou-legal"

    view = world.submit(people=["Ivy Park"], prompt="a child on the quay")
    assert view["status"] == "awaiting_approval" and view["decision"]["violations"] == []


def test_no_producer_revokes_a_consent_or_takes_a_licence_down(world):
    mara = consent_of("Mara Quinn")
    for producer in ("nia-producer", "pat-producer"):
        revoke = call(world, producer, "POST", f"/api/v1/consents/{mara.id}/revoke", json={"reason": "withdrawn"})
        takedown = call(world, producer, "POST", "/api/v1/licences/LIC-NORTHLIGHT-PLATES/takedown",
                        json={"reason": "complaint"})
        assert (revoke.status_code, takedown.status_code) == (403, 403)
    assert Consent.get_by_id(mara.id).revoked_at is None
    assert Licence.get(Licence.ref == "LIC-NORTHLIGHT-PLATES").takedown is False
    standing = call(world, "aud-auditor", "GET", f"/api/v1/outputs/{world.outputs['mara']}")
    assert standing.json["in_good_standing"] is True


def test_the_impact_dry_run_shows_only_the_callers_productions(world):
    mara = consent_of("Mara Quinn")
    hidden = call(world, "nia-producer", "GET", f"/api/v1/provenance/impact?consent={mara.id}")
    absent = call(world, "nia-producer", "GET", "/api/v1/provenance/impact?consent=999999")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json["detail"].replace(str(mara.id), "N") == absent.json["detail"].replace("999999", "N")
    # the reference plate's licence is the studio library's: both producers may ask about it
    theirs = call(world, "nia-producer", "GET", "/api/v1/provenance/impact?licence=LIC-NORTHLIGHT-PLATES")
    ours = call(world, "pat-producer", "GET", "/api/v1/provenance/impact?licence=LIC-NORTHLIGHT-PLATES")
    assert theirs.status_code == ours.status_code == 200
    assert ours.json["outputs"]["count"] >= 1 and world.outputs["plate"] in ours.json["outputs"]["sha256"]
    assert theirs.json["outputs"] == {"count": 0, "sha256": [], "listed": 0}
    assert theirs.json["pending_requests"] == []
    body = json.dumps(theirs.json)
    assert not any(sha in body for sha in world.outputs.values()) and "harbour-lights" not in body
    # legal sees the whole studio
    studio_wide = call(world, "lee-legal", "GET", "/api/v1/provenance/impact?licence=LIC-NORTHLIGHT-PLATES")
    assert studio_wide.json["outputs"]["count"] == ours.json["outputs"]["count"]


def test_another_productions_people_and_consents_are_invisible(world):
    kit = consent_of("Kit Young")
    listing = call(world, "nia-producer", "GET", "/api/v1/consents")
    assert listing.status_code == 200 and listing.json == []
    people = call(world, "nia-producer", "GET", "/api/v1/people")
    assert "Kit Young" not in json.dumps(people.json) and "Mara Quinn" not in json.dumps(people.json)
    for path, unknown in ((f"/api/v1/consents/{kit.id}", "/api/v1/consents/999999"),
                          ("/api/v1/people/Kit%20Young", "/api/v1/people/Nobody%20Here")):
        hidden, absent = call(world, "nia-producer", "GET", path), call(world, "nia-producer", "GET", unknown)
        assert hidden.status_code == absent.status_code == 404
        assert "Sam Young" not in json.dumps(hidden.json) and "minor" not in json.dumps(hidden.json)
    # the same calls by Kit's own production's producer see her
    assert call(world, "pat-producer", "GET", f"/api/v1/consents/{kit.id}").json["person"] == "Kit Young"


def test_provenance_search_by_another_productions_person_is_not_found(world):
    hidden = call(world, "nia-producer", "GET", "/api/v1/provenance/outputs?person=Mara%20Quinn")
    assert hidden.status_code == 404 and "Mara" in hidden.json["detail"]  # the name the caller gave, no more
    ours = call(world, "pat-producer", "GET", "/api/v1/provenance/outputs?person=Mara%20Quinn")
    assert world.outputs["mara"] in [o["sha256"] for o in ours.json["items"]]


def test_a_producer_cannot_reference_another_productions_asset_or_depict_its_people(world):
    asset = call(world, "pat-producer", "POST", "/api/v1/assets", content_type="multipart/form-data",
                 data={"file": (io.BytesIO(b"harbour storyboard"), "sb.png", "image/png"), "title": "Storyboard",
                       "production": "harbour-lights"})
    assert asset.status_code == 201, asset.json
    body = {"production": "northern-line", "use": "previs", "territory": "GB", "model": "slate-studio:1",
            "prompt": "a ferry at night", "references": [asset.json["sha256"]], "people": []}
    refused = call(world, "nia-producer", "POST", "/api/v1/requests", json=body)
    assert refused.status_code == 404 and "in your productions" in refused.json["detail"]
    depicted = call(world, "nia-producer", "POST", "/api/v1/requests",
                    json={**body, "references": [], "people": ["Mara Quinn"]})
    assert depicted.status_code == 404


def test_consent_documents_are_read_by_legal_and_auditors_only(world):
    mara = consent_of("Mara Quinn")
    for who, status in (("lee-legal", 200), ("aud-auditor", 200), ("pat-producer", 403), ("ada-approver", 403),
                        ("nia-producer", 403)):
        response = call(world, who, "GET", f"/api/v1/consents/{mara.id}/document")
        assert response.status_code == status, who
        if status == 200:
            assert response.data.startswith(b"%PDF-") and response.mimetype == "application/pdf"


def test_a_signed_pdf_whose_signature_does_not_validate_is_refused(world):
    from governance.registry.documents import minimal_pdf
    from tests.registry import signed_pdfs
    ca = signed_pdfs.make_ca()
    signed_pdfs.write_trust_root(world.client.application.config["SLATE_SETTINGS"].keys_dir, ca.certificate)
    signer = signed_pdfs.make_signer(ca)
    good = signed_pdfs.sign_pdf(minimal_pdf(signed_pdfs.CONSENT_LINES), signer)
    accepted = kept_document(world, content=good)
    assert accepted.status_code == 201, accepted.json
    assert accepted.json["signed"] is True and accepted.json["signers"][0]["trusted"] is True
    before = ConsentDocument.select().count()
    tampered = kept_document(world, content=signed_pdfs.tamper(good))
    assert tampered.status_code == 422 and "signature" in tampered.json["detail"]
    stranger = signed_pdfs.make_signer(signed_pdfs.make_ca("Another e-signature root"))
    untrusted = kept_document(world, content=signed_pdfs.sign_pdf(minimal_pdf(["Consent"]), stranger))
    assert untrusted.status_code == 422 and "not trusted" in untrusted.json["detail"]
    assert ConsentDocument.select().count() == before


def test_a_name_registered_in_another_production_cannot_deny_our_requests(world):
    """A producer registering a common word as a person's name changes no other production's decision."""
    registered = call(world, "nia-producer", "POST", "/api/v1/people",
                      json={"name": "Harbour", "productions": ["northern-line"]})
    assert registered.status_code == 201
    ours = world.submit(prompt="a quiet harbour at dusk, wide shot")
    assert ours["status"] == "queued" and ours["decision"]["violations"] == []
    # within their own production the name counts, as it should
    theirs = call(world, "nia-producer", "POST", "/api/v1/requests",
                  json={"production": "northern-line", "use": "previs", "territory": "GB", "model": "slate-studio:1",
                        "prompt": "a quiet harbour at dusk", "references": [], "people": []})
    assert theirs.json["status"] == "denied"
    assert "prompt-names-person-without-likeness-consent" in {v["rule"] for v in theirs.json["decision"]["violations"]}


def test_a_producer_gets_no_proof_of_non_membership_naming_other_members(world):
    theirs = call(world, "pat-producer", "POST", "/api/v1/assets", content_type="multipart/form-data",
                  data={"file": (io.BytesIO(b"our still"), "s.png", "image/png"), "title": "Our still",
                        "production": "harbour-lights"})
    sha = theirs.json["sha256"]
    refused = call(world, "pat-producer", "GET", f"/api/v1/training-sets/studio-style-v1/proof/{sha}")
    assert refused.status_code == 403 and "not in training set" in refused.json["detail"]
    assert "leaf" not in refused.json and "neighbours" not in json.dumps(refused.json)
    audited = call(world, "aud-auditor", "GET", f"/api/v1/training-sets/studio-style-v1/proof/{sha}")
    assert audited.status_code == 200 and audited.json["kind"] == "non-membership"


def test_verifying_another_productions_output_says_it_lost_standing_but_not_why(world):
    mara = consent_of("Mara Quinn")
    revoked = call(world, "lee-legal", "POST", f"/api/v1/consents/{mara.id}/revoke",
                   json={"reason": "withdrew after a private dispute"})
    assert revoked.status_code == 200
    image = call(world, "aud-auditor", "GET", f"/api/v1/outputs/{world.outputs['mara']}/image").data

    def verify(who):
        return call(world, who, "POST", "/api/v1/verify", content_type="multipart/form-data",
                    data={"file": (io.BytesIO(image), "out.png", "image/png")}).json

    theirs, ours = verify("nia-producer"), verify("pat-producer")
    assert theirs["outcome"] == ours["outcome"] == "revoked"
    assert "private dispute" in json.dumps(ours) and "Mara Quinn" in json.dumps(ours)
    assert "private dispute" not in json.dumps(theirs) and "Mara Quinn" not in json.dumps(theirs)
    assert "no longer in good standing" in theirs["summary"]


def test_a_person_shows_only_the_callers_productions(world):
    call(world, "lee-legal", "POST", "/api/v1/people/Mara%20Quinn/productions", json={"production": "northern-line"})
    theirs = call(world, "nia-producer", "GET", "/api/v1/people/Mara%20Quinn").json
    ours = call(world, "pat-producer", "GET", "/api/v1/people/Mara%20Quinn").json
    studio = call(world, "lee-legal", "GET", "/api/v1/people/Mara%20Quinn").json
    assert (theirs["productions"], ours["productions"]) == (["northern-line"], ["harbour-lights"])
    assert studio["productions"] == ["harbour-lights", "northern-line"]


def test_a_person_of_another_production_in_a_library_image_is_named_by_number(world):
    body = {"production": "northern-line", "use": "previs", "territory": "GB", "model": "slate-studio:1",
            "prompt": "a ferry at night", "references": [world.headshot], "people": []}
    decided = call(world, "nia-producer", "POST", "/api/v1/requests", json=body)
    assert decided.status_code == 201 and decided.json["status"] == "denied"
    subjects = {v["subject"] for v in decided.json["decision"]["violations"]}
    mara = Person.get(Person.name == "Mara Quinn")
    assert f"person:#{mara.id}" in subjects and "Mara" not in json.dumps(decided.json)
