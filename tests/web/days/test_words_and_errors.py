"""A day of words, not codes, in a real browser: every kind of error page a person can meet
(404 for an unknown address and for a missing record, 403, 413, 422 inline) says what happened
and offers a way back; each role's start page shows what waits for them; evidence reads in
words; the lineage picture is shown at its own size. Every page goes through axe-core.

The day leaves nothing waiting that another day could see: the one request it sends for
approval is rejected before it ends.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from governance.clock import utcnow
from tests.e2e.harness import SlateServer
from tests.web.browser import Person, Screens

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (the dev extra)")
pytest.importorskip("torch", reason="the day's signed output comes from the real worker, which needs torch")

PREVIS_PROMPT = "a small ivory square on teal, slate studio style, words day"
FINAL_PROMPT = "a teal circle on ivory, slate studio style, for the approvers' queue"
TWENTY_SIX_MB = 26_000_000


def fill_request(page: Any, use: str, prompt: str, *, people: tuple[str, ...] = ()) -> int:
    page.goto("/requests/new")
    page.select_option("#use", use)
    page.fill("#territory", "GB")
    page.select_option("#model", "slate-studio:1")
    page.fill("#prompt", prompt)
    for person in people:
        page.get_by_label(person).check()
    page.fill("#steps", "4")
    page.fill("#width", "64")
    page.fill("#height", "64")
    page.get_by_role("button", name="Submit for a decision").click()
    page.wait_for_url("**/requests/*")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def error_page(person: Person, path: str, status: int, title: str) -> None:
    response = person.page.goto(path)
    assert response is not None and response.status == status, path
    sync_api.expect(person.page.locator("h1")).to_contain_text(title)
    body = person.page.locator("main").inner_text()
    for operator_only in ("Traceback", "SLATE_", ".py", "slate "):
        assert operator_only not in body, (path, operator_only)


def test_error_pages_words_and_each_roles_start_page(server: SlateServer, chromium: Any, screens: Screens,
                                                      tmp_path: Path) -> None:
    expect = sync_api.expect

    # the producer: a denied request's evidence in words, then their start page lists it
    pat = Person(chromium, server, "pat-producer", screens)
    denied = fill_request(pat.page, "previs", PREVIS_PROMPT, people=("Kit Young",))
    expect(pat.page.locator("h2#decision")).to_contain_text("deny")
    evidence = pat.page.locator("table.evidence").first
    expect(evidence).to_contain_text("is")
    for code in ("gteq", "isAnyOf", "eq"):
        assert code not in [cell.strip() for cell in evidence.locator("td:nth-child(4)").all_inner_texts()]
    pat.shot("producer-denied-evidence-in-words")
    pat.page.goto("/")
    refusals = pat.page.locator("section[aria-labelledby='queue-my_refusals']")
    expect(refusals).to_contain_text(f"Request #{denied}")
    expect(refusals).to_contain_text("denied by policy")
    pat.shot("producer-start-page")

    # every error a producer can meet: words, a way back, nothing for operators only
    error_page(pat, "/no/such/page", 404, "Not found")
    expect(pat.page.get_by_role("link", name="Back to the start page")).to_be_visible()
    pat.shot("error-404-unknown-address")
    error_page(pat, "/requests/987654321", 404, "Not found")
    expect(pat.page.get_by_role("alert")).to_contain_text("No request '987654321' exists")
    pat.shot("error-404-missing-record")
    pat.page.get_by_role("link", name="Back to Requests").click()
    expect(pat.page.locator("h1")).to_contain_text("Requests")
    error_page(pat, "/audit", 403, "Not for your roles")
    pat.shot("error-403-another-roles-page")
    pat.page.goto("/verify")
    pat.page.set_input_files("#file", files=[{"name": "huge.png", "mimeType": "image/png",
                                              "buffer": b"\0" * TWENTY_SIX_MB}])
    pat.page.get_by_role("button", name="Verify").click()
    expect(pat.page.locator("h1")).to_contain_text("Too large")
    expect(pat.page.locator("main")).to_contain_text("The largest upload this server accepts is 25 MB.")
    expect(pat.page.get_by_role("link", name="Back to Verify an image")).to_be_visible()
    pat.shot("error-413-upload-limit")

    # the lineage picture, at its own size: one SVG pixel is one screen pixel, so its 12 px text stays 12 px
    fill_request(pat.page, "previs", PREVIS_PROMPT)
    pat.page.locator("#output").wait_for(timeout=240_000)
    sha256 = pat.page.locator("section[aria-labelledby='output'] dl.facts dd code").first.inner_text().strip()
    pat.page.goto(f"/provenance/outputs/{sha256}/lineage")
    picture = pat.page.locator("figure.lineage img")
    expect(picture).to_be_visible()
    pat.page.wait_for_function("() => document.querySelector('figure.lineage img').complete")
    drawn, natural = picture.evaluate("img => [img.clientWidth, img.naturalWidth]")  # clientWidth: no border
    assert natural > 1000 and drawn == natural
    pat.shot("producer-lineage-full-size")

    # legal: a refused consent comes back inline, with what was typed; consents read as states
    lee = Person(chromium, server, "lee-legal", screens)
    lee.page.goto("/registry#record-consent")
    lee.page.select_option("#consent-person", "Mara Quinn")
    lee.page.get_by_label("likeness", exact=True).check()
    lee.page.fill("#consent-productions", "harbour-lights")
    lee.page.fill("#consent-territories", "GB, FR")
    lee.page.fill("#consent-from", "2027-02-01")
    lee.page.fill("#consent-until", "2027-01-01")
    document = tmp_path / "consent.pdf"
    document.write_bytes(b"%PDF-1.4\n% a consent signed on paper\n%%EOF\n")
    lee.page.set_input_files("#consent-document", str(document))
    lee.page.get_by_role("button", name="Record the consent").click()
    expect(lee.page.locator("#consent-form-error")).to_contain_text("The consent was not recorded.")
    expect(lee.page.locator("#consent-territories")).to_have_value("GB, FR")
    expect(lee.page.locator("#consent-until")).to_have_value("2027-01-01")
    lee.shot("legal-consent-refused-inline")
    # the demo's consent for the minor runs 180 days from New Year: its state follows its end date
    kit = lee.page.locator("#people + table tr", has_text="Kit Young")
    valid_until = re.findall(r"\d{4}-\d{2}-\d{2}", kit.inner_text())[1]
    expired = date.fromisoformat(valid_until) < utcnow().date()
    expect(kit).to_contain_text(f"expired on {valid_until}" if expired else "active")
    lee.page.goto("/")
    lee.shot("legal-start-page")

    # the approver: a final-frame request waits for them, with how long it waited
    waiting = fill_request(pat.page, "final_frame", FINAL_PROMPT)
    ada = Person(chromium, server, "ada-approver", screens)
    ada.page.goto("/")
    queue = ada.page.locator("section[aria-labelledby='queue-approvals']")
    expect(queue).to_contain_text(f"Request #{waiting}")
    expect(queue).to_contain_text("waiting")
    ada.shot("approver-start-page")
    queue.get_by_role("link", name=f"Request #{waiting}").click()
    ada.page.fill("textarea[name='comment'], input[name='comment']", "not for today: the words day ends")
    ada.page.get_by_role("button", name="Reject").click()
    expect(ada.page.locator("main")).to_contain_text("rejected")

    # the auditor: where the audit log stands, and outputs that lost good standing
    aud = Person(chromium, server, "aud-auditor", screens)
    aud.page.goto("/")
    expect(aud.page.locator("section[aria-labelledby='queue-audit']")).to_contain_text("entries")
    aud.shot("auditor-start-page")

    for person in (pat, lee, ada, aud):
        person.close()
    assert not screens.problems, screens.problems
    screens.assert_accessible()
