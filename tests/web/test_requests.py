"""Producers' and approvers' pages: submit, decision with evidence and duties, approval queue."""

from __future__ import annotations

import io
import logging

from PIL import Image

from governance.credentials import Issuer
from governance.jobs.tables import Job
from tests.credentials.conftest import CLAIM, make_image
from tests.credentials.test_soft_bindings import photo_png, stripped

PROMPT = "a confidential script line: the harbour at dusk"


def submit(producer, studio, **fields):
    producer.get("/requests/new")
    data = {"production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": studio["model"],
            "prompt": PROMPT, "references": [studio["plate"]], "steps": "4", "width": "64", "height": "64", **fields}
    return producer.post("/requests/new", data)


def test_a_request_shows_its_decision_evidence_and_credits_but_only_the_prompts_hash(browser, studio, caplog):
    producer = browser("pat-producer")
    caplog.set_level(logging.INFO)  # (peewee logs SQL parameters, the prompt included, at DEBUG)
    response = submit(producer, studio)
    assert response.status_code == 302 and PROMPT not in response.headers["Location"]
    page = producer.get(response.headers["Location"]).get_data(as_text=True)
    assert "awaiting approval" in page
    assert "final-and-marketing-need-approval" in page and "request.use" in page
    assert "Background plates courtesy of Northlight Archive" in page
    assert PROMPT not in page and "SHA-256" in page
    assert PROMPT not in caplog.text


def test_a_resubmitted_form_makes_one_request(browser, studio):
    producer = browser("pat-producer")
    producer.get("/requests/new")
    key = "form-1"
    first = submit(producer, studio, form_key=key)
    second = producer.post("/requests/new", {"production": "harbour-lights", "use": "final_frame", "territory": "GB",
                                             "model": studio["model"], "prompt": PROMPT,
                                             "references": [studio["plate"]], "steps": "4", "width": "64",
                                             "height": "64", "form_key": key})
    assert first.headers["Location"] == second.headers["Location"]


def test_an_invalid_request_is_shown_again_with_its_problems(browser, studio):
    producer = browser("pat-producer")
    response = submit(producer, studio, territory="Britain", steps="0")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "territory" in body and "steps" in body


def test_a_denied_request_names_the_rule_and_the_evidence(browser, studio):
    producer = browser("pat-producer")
    page = producer.get(submit(producer, studio, people=["Kit Young"]).headers["Location"]).get_data(as_text=True)
    assert "Decision: deny" in page and "minor-guardian-signature" in page


def test_an_approver_sees_why_a_request_waits_and_approves_it_with_a_comment(browser, studio):
    producer = browser("pat-producer")
    location = submit(producer, studio).headers["Location"]
    request_id = int(location.rsplit("/", 1)[1])
    lawyer = browser("lee-legal")
    lawyer.get("/approvals")
    assert lawyer.post(f"/requests/{request_id}/approval", {"verdict": "approved", "comment": "rights ok"}) \
        .status_code == 302
    assert "sign-off from approver (final-and-marketing-need-approval)" in lawyer.get(location).get_data(as_text=True)
    approver = browser("ada-approver")
    assert f"Request #{request_id}" in approver.get("/approvals").get_data(as_text=True)
    assert "Final-frame and marketing use needs a named approver." in \
        approver.get(f"/approvals/{request_id}").get_data(as_text=True)
    rejected_without_reason = approver.post(f"/requests/{request_id}/approval", {"verdict": "rejected"})
    assert rejected_without_reason.status_code == 422
    done = approver.post(f"/requests/{request_id}/approval", {"verdict": "approved", "comment": "OK <for> the cut"})
    assert done.status_code == 302
    page = approver.get(location).get_data(as_text=True)
    assert "ada-approver" in page and "OK &lt;for&gt; the cut" in page and "queued" in page
    assert Job.select().where(Job.request == request_id).count() == 1
    assert "Nothing awaits approval" in approver.get("/approvals").get_data(as_text=True)


def test_a_producer_sees_only_their_productions_requests(browser, studio, app):
    from governance.auth.users import add_user, issue_token
    from governance.registry.people import add_production
    location = submit(browser("pat-producer"), studio).headers["Location"]
    add_production("northern-line")
    add_user("nora-producer", ["producer"], ["northern-line"])
    nora = browser()
    nora.sign_in(issue_token("nora-producer")["token"])
    assert nora.get(location).status_code == 404
    assert "No requests" in nora.get("/requests").get_data(as_text=True)


def test_an_unsigned_image_is_reported_as_carrying_no_credentials(browser):
    auditor = browser("aud-auditor")
    auditor.get("/verify")
    image = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(image, format="PNG")
    response = auditor.post("/verify", {"file": (io.BytesIO(image.getvalue()), "plain.png")},
                            content_type="multipart/form-data")
    assert response.status_code == 200
    assert "This image carries no content credentials." in response.get_data(as_text=True)
    assert auditor.post("/verify", {}, content_type="multipart/form-data").status_code == 422


def test_the_auditor_verifies_the_audit_log(browser):
    auditor = browser("aud-auditor")
    auditor.get("/audit")
    body = auditor.post("/audit").get_data(as_text=True)
    assert "The audit log is intact" in body


def test_a_stripped_copy_of_a_signed_output_is_shown_as_recovered_naming_it(browser, app):
    with Issuer(app.config["SLATE_SETTINGS"]) as issuer:
        signed = issuer.sign(photo_png(), {**CLAIM, "approver": "ada-approver"})
    auditor = browser("aud-auditor")
    auditor.get("/verify")
    response = auditor.post("/verify", {"file": (io.BytesIO(stripped(signed.data)), "copy.png")},
                            content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "it is a copy of an output Slate issued" in page
    assert signed.sha256 in page and signed.manifest_label in page


def test_the_verify_page_shows_each_approvers_own_signature(browser, app):
    with Issuer(app.config["SLATE_SETTINGS"]) as issuer:
        signed = issuer.sign(make_image(), {**CLAIM, "approver": "ada-approver"}).data
    auditor = browser("aud-auditor")
    auditor.get("/verify")
    body = auditor.post("/verify", {"file": (io.BytesIO(signed), "approved.png")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "Approved under the approvers&#39; own signatures" in body
    assert "approved by ada-approver — own signature valid" in body



def test_the_new_request_form_lists_a_page_of_people_finds_the_others_by_name_and_keeps_who_was_ticked(
        browser, monkeypatch):
    """A studio registers thousands of people: the form lists at most a page of them (listing
    every one took seconds at scale), says more match, and a search by name finds the rest."""
    from governance.registry import people
    from governance.registry.people import add_person
    monkeypatch.setattr(people.people_named, "__kwdefaults__", {"chosen": (), "limit": 2})
    for i in range(3):
        add_person(f"Zed Picker {i}", productions=["harbour-lights"])
    pat = browser("pat-producer")
    page = pat.get("/requests/new").get_data(as_text=True)
    assert page.count('name="people"') == 2 and "More people match: narrow the search above." in page
    found = pat.get("/requests/new?who=picker+2").get_data(as_text=True)
    assert found.count('name="people"') == 1 and 'value="Zed Picker 2"' in found
    assert "More people match" not in found
    kept, more = people.people_named("picker 2", None, chosen=("Zed Picker 0",))
    assert kept == ("Zed Picker 0", "Zed Picker 2") and not more
