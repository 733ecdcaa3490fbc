"""The registry page follows the registry's rules: a producer sees their productions and no
rights forms; legal records a consent with its document and a second legal user confirms it."""

from __future__ import annotations

import io

from governance.registry.people import add_person
from governance.registry.tables import Consent, Person
from tests.rights import consent_form


def consent_form_fields(person: str = "Ivy Park") -> dict:
    return {"person": person, "uses": "likeness", "productions": "harbour-lights", "territories": "GB",
            "valid_from": "2026-01-01", "valid_until": "2027-12-31",
            "document": (io.BytesIO(consent_form(person)), "consent.pdf", "application/pdf")}


def test_a_producer_sees_no_rights_forms_and_cannot_post_one(browser):
    pat = browser("pat-producer")
    page = pat.get("/registry").get_data(as_text=True)
    assert "Record a consent" not in page and "Consents to confirm" not in page
    assert "Kit Young" in page  # their production's people are there
    add_person("Ivy Park", productions=["harbour-lights"])
    refused = pat.post("/registry/consents", consent_form_fields(), content_type="multipart/form-data")
    assert refused.status_code == 403
    assert Consent.select().join(Person).where(Person.name == "Ivy Park").count() == 0


def test_another_productions_people_are_not_on_a_producers_page(app, browser):
    from governance.auth.users import add_user, issue_token
    from governance.registry.people import add_production
    add_production("northern-line")
    add_user("nia-producer", ["producer"], ["northern-line"])
    nia = browser()
    nia.sign_in(issue_token("nia-producer")["token"])
    page = nia.get("/registry").get_data(as_text=True)
    assert "Kit Young" not in page and "Mara Quinn" not in page and "Sam Young" not in page


def test_legal_records_a_consent_and_a_second_legal_user_confirms_it(browser):
    add_person("Ivy Park", productions=["harbour-lights"])
    lee = browser("lee-legal")
    lee.get("/registry")
    recorded = lee.post("/registry/consents", consent_form_fields(), content_type="multipart/form-data",
                        follow_redirects=True)
    assert recorded.status_code == 200
    assert "Another legal user must confirm it" in recorded.get_data(as_text=True)
    consent = Consent.select().join(Person).where(Person.name == "Ivy Park").get()
    assert consent.status == "pending" and consent.recorded_by == "lee-legal"
    assert "you recorded it: another legal user confirms" in recorded.get_data(as_text=True)

    own = lee.post(f"/registry/consents/{consent.id}/confirm", {"comment": "mine"})
    assert own.status_code == 403 and Consent.get_by_id(consent.id).status == "pending"

    lou = browser("lou-legal")
    page = lou.get("/registry").get_data(as_text=True)
    assert "I read the document: confirm" in page
    document = lou.get(f"/registry/consents/{consent.id}/document")
    assert document.status_code == 200 and document.data.startswith(b"%PDF-")
    confirmed = lou.post(f"/registry/consents/{consent.id}/confirm", {"comment": "read it"}, follow_redirects=True)
    assert confirmed.status_code == 200 and "is confirmed and now counts" in confirmed.get_data(as_text=True)
    assert Consent.get_by_id(consent.id).confirmed_by == "lou-legal"


def test_the_page_shows_base_models_and_what_an_assets_credentials_said(browser):
    from datetime import date

    from governance.registry import assets, base_models, licences
    from tests.owner_credentials import OWNER, not_allowed_image
    base_models.register_base("sd-page", "5d" * 32, licence="CreativeML OpenRAIL-M", training_data="LAION subset",
                              licence_url="https://example.org/openrail")
    licences.add_licence("LIC-PAGE", "Agency", grants=["ai_reference"], territories=["WW"], starts_on=date(2025, 1, 1))
    assets.register_asset(not_allowed_image(seed=31), media_type="image/png", title="Agency dusk", licence="LIC-PAGE")
    page = browser("lee-legal").get("/registry").get_data(as_text=True)
    assert "sd-page" in page and "LAION subset" in page and 'href="https://example.org/openrail"' in page
    assert f"signed by {OWNER}" in page and "notAllowed" in page
