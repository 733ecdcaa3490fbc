"""Error pages a person can act on: what happened in words, the actual limit, a way back; never
a traceback, a source file, an environment variable or a command. The API keeps its problem
documents exactly as before."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from governance.registry.tables import Consent
from governance.web import requests as request_pages
from tests.web.test_requests import PROMPT, submit

#: what a browser sends when it follows a link
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}
#: what no error page may show
OPERATOR_ONLY = re.compile(r"Traceback|\.py\b|SLATE_[A-Z_]+|\bslate [a-z]+ [a-z]+|governance/")


@pytest.fixture
def settings(settings: Any) -> Any:
    """A 2 MB upload limit, so that a too-large upload is cheap to send."""
    return type(settings)(**{**settings.__dict__, "max_image_bytes": 2_000_000})


def body_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def assert_actionable_page(response: Any, status: int) -> str:
    assert response.status_code == status and response.mimetype == "text/html"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    body = body_of(response)
    assert f"(error {status})" in body and "<h1" in body
    assert not OPERATOR_ONLY.search(body), OPERATOR_ONLY.search(body)
    return body


def test_an_unknown_address_in_a_browser_answers_a_page_with_a_way_back(browser):
    producer = browser("pat-producer")
    body = assert_actionable_page(producer.get("/no/such/page", headers=HTML), 404)
    assert "There is no page at this address" in body and "pat-producer" in body
    assert '<a href="/">Back to the start page</a>' in body
    anonymous = browser()
    body = assert_actionable_page(anonymous.get("/no/such/page", headers=HTML), 404)
    assert 'href="/sign-in"' in body


def test_the_api_and_clients_not_asking_for_html_keep_the_problem_document(browser):
    client = browser("pat-producer")
    for path, headers in (("/api/v1/no-such-thing", HTML), ("/no/such/page", {}),
                          ("/no/such/page", {"Accept": "application/json"})):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path
        problem = json.loads(body_of(response))
        assert problem["type"] == "https://slate.example/problems/http-404" and problem["title"] == "Not Found"
    api_405 = client.client.delete("/api/v1/requests", headers=HTML)
    assert api_405.status_code == 405 and api_405.mimetype == "application/problem+json"


def test_a_method_an_address_does_not_take_answers_a_405_page_naming_what_it_takes(browser):
    lawyer = browser("lee-legal")
    response = lawyer.client.put("/registry", headers=HTML)
    body = assert_actionable_page(response, 405)
    assert "does not take a PUT request" in body and "GET" in response.headers["Allow"]


def test_a_too_large_upload_names_the_limit_in_words_not_a_setting(browser):
    producer = browser("pat-producer")
    producer.get("/verify")
    data = {"csrf_token": producer.csrf, "file": (io.BytesIO(b"\0" * 3_100_000), "big.png")}
    response = producer.client.post("/verify", data=data, content_type="multipart/form-data", headers=HTML)
    body = assert_actionable_page(response, 413)
    assert "The largest upload this server accepts is 2 MB." in body
    assert '<a href="/verify">Back to Verify an image</a>' in body  # back to the form, to try again


def test_a_page_for_other_roles_answers_403_in_words_with_a_way_back(browser):
    body = assert_actionable_page(browser("pat-producer").get("/audit", headers=HTML), 403)
    assert "Not for your roles" in body and "This page is for the roles: auditor." in body
    assert "pat-producer has: producer" in body and '<a href="/">Back to the start page</a>' in body


def test_a_missing_record_sends_back_to_its_section_and_its_hint_to_a_page_not_a_command(browser):
    body = assert_actionable_page(browser("lee-legal").get("/requests/987654", headers=HTML), 404)
    assert "No request #987654 exists." in body
    assert '<a href="/requests">Back to Requests</a>' in body
    assert 'See your requests on the <a href="/requests">Requests page</a>' in body
    body = assert_actionable_page(browser("lee-legal").get("/policies/nope@9"), 404)
    assert '<a href="/policies">Policies page</a>' in body and "slate policy" not in body


def test_an_invalid_request_form_shows_each_problem_beside_its_field_and_keeps_what_was_typed(browser, studio):
    producer = browser("pat-producer")
    response = submit(producer, studio, territory="Britain", seed="abc")
    assert response.status_code == 422
    body = body_of(response)
    assert 'aria-describedby="territory-error" aria-invalid="true"' in body
    assert re.search(r'<p class="field-error" id="territory-error">[^<]+</p>', body)
    assert 'aria-describedby="seed-error"' in body and 'id="seed-error">Not a valid integer.</p>' in body
    assert f">{PROMPT}</textarea>" in body and 'value="Britain"' in body
    assert "{'" not in body and "['" not in body  # validator dicts and lists never shown raw


def test_a_refused_consent_form_comes_back_inline_with_what_legal_typed_and_records_nothing(browser):
    lawyer = browser("lee-legal")
    lawyer.get("/registry")
    before = Consent.select().count()
    response = lawyer.client.post("/registry/consents", content_type="multipart/form-data", data={
        "csrf_token": lawyer.csrf, "person": "Mara Quinn", "uses": ["likeness"], "productions": "harbour-lights",
        "territories": "GB, FR", "valid_from": "next tuesday", "valid_until": "2027-01-01",
        "document": (io.BytesIO(b"%PDF-1.4 consent"), "consent.pdf")})
    assert response.status_code == 422 and Consent.select().count() == before
    body = body_of(response)
    assert "The consent was not recorded." in body
    assert 'aria-describedby="valid_from-error"' in body and 'id="valid_from-error">Give a date, as YYYY-MM-DD.' in body
    assert 'value="GB, FR"' in body and 'value="2027-01-01"' in body and 'value="likeness" checked' in body
    assert '<option value="Mara Quinn" selected>' in body


def test_an_unexpected_failure_shows_an_incident_number_and_nothing_of_the_exception(browser, monkeypatch, caplog):
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail at /srv/slate/governance/lifecycle/requests.py line 9")

    monkeypatch.setattr(request_pages.lifecycle, "list_requests", broken)
    body = assert_actionable_page(browser("lee-legal").get("/requests", headers=HTML), 500)
    assert "Something went wrong" in body and "incident number" in body
    assert "secret detail" not in body and "RuntimeError" not in body
    incident = re.search(r"incident number ([0-9a-f]{12})", body)
    assert incident and incident.group(1) in caplog.text  # the operators find it in the log
