"""Legal's day, through the pages only: lee starts a draft from the published policy in the
editor, lou reads it and rejects it with a comment; lee starts another draft, adds a test case
for the rule it adds, lou approves it and publishes it after the confirmation page; then legal
rolls back to the version they started with, and the studio ends on the policy text it
started with. Every page is photographed and checked with axe-core."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.harness import SlateServer
from tests.web.browser import Person, Screens, sync_api
from tests.web.test_policy_review_pages import YACHTS

YACHT_CASE = """base:
  request: {production: harbour-lights, use: concept, territory: GB, prompt: a yacht at the quay}
  model: {status: approved}
cases:
  - name: a yacht in the prompt is refused
    expect: {decision: deny}
"""


def published_version(person: Person) -> tuple[str, str]:
    """The published version's page path and its text, as the version page shows them."""
    page = person.page
    page.goto("/policies")
    page.locator("tr", has=page.locator(".badge.published")).get_by_role("link").first.click()
    return page.url, page.locator("pre.policy-text").inner_text()


def start_draft(person: Person, from_url: str, edit: Any, name: str) -> str:
    """Open the editor on a version, change its text, save it as a draft; the draft's URL."""
    page = person.page
    page.goto(from_url)
    page.get_by_role("link", name="Start a draft from this version").click()
    text = page.locator("#text").input_value()
    page.locator("#text").fill(edit(text))
    person.shot(name)
    page.get_by_role("button", name="Save as a draft").click()
    sync_api().expect(page.locator(".flash.info")).to_contain_text("Another legal user must review it")
    return page.url


def test_legal_reviews_rejects_publishes_and_rolls_back(server: SlateServer, chromium: Any,
                                                         screens: Screens) -> None:
    expect = sync_api().expect
    lee, lou = Person(chromium, server, "lee-legal", screens), Person(chromium, server, "lou-legal", screens)
    start_url, start_text = published_version(lee)
    lee.shot("published-version")

    # a first draft, which lou rejects with a comment lee reads
    first = start_draft(lee, start_url, lambda t: t.replace("[nude,", "[blood, nude,"), "editor-first-draft")
    lee.shot("first-draft")
    lou.page.goto(first)
    lou.page.fill("#review-comment", "Blood is part of the harbour scenes; keep it allowed.")
    lou.page.get_by_role("button", name="Reject").click()
    expect(lou.page.locator(".flash.info")).to_contain_text("rejected")
    lou.shot("first-draft-rejected")
    lee.page.goto(first)
    expect(lee.page.locator("dl.facts")).to_contain_text("Blood is part of the harbour scenes")
    expect(lee.page.get_by_role("link", name=re.compile("^Publish"))).to_have_count(0)

    # a second draft adds a rule; its coverage flags it until lee adds a test case for it
    second = start_draft(lee, start_url, lambda t: t.replace(
        "  - id: prompt-names-person-without-likeness-consent", YACHTS, 1), "editor-second-draft")
    expect(lee.page.locator("#coverage ~ .flash.error")).to_contain_text("prompt-no-yachts")
    lee.shot("second-draft-flagged")
    lee.page.get_by_role("link", name="Test cases").click()
    lee.page.fill("#name", "yachts")
    lee.page.fill("#body", "cases: [{name: missing an expectation}]")
    lee.page.get_by_role("button", name="Save the test case").click()
    expect(lee.page.locator("#body-problem")).to_be_visible()
    expect(lee.page.locator("#body")).to_have_value("cases: [{name: missing an expectation}]")
    lee.shot("test-case-refused-inline")
    lee.page.fill("#body", YACHT_CASE)
    lee.page.get_by_role("button", name="Save the test case").click()
    expect(lee.page.locator("table")).to_contain_text("yachts")
    lee.shot("test-cases")
    lee.page.goto(second)
    expect(lee.page.locator("#coverage ~ .flash.error")).to_have_count(0)
    expect(lee.page.locator("#coverage ~ p").first).to_contain_text(re.compile(r"(\d+) of \1 test case\(s\) pass"))
    lee.shot("second-draft-covered")

    # lou approves and publishes it, after reading what changes
    lou.page.goto(second)
    lou.page.fill("#comment", "The yacht rule is tested; fine.")
    lou.page.get_by_role("button", name="Approve this draft").click()
    lou.page.get_by_role("link", name=re.compile("^Publish")).click()
    expect(lou.page.locator("h1")).to_contain_text("Publish")
    expect(lou.page.locator("main")).to_contain_text("prompt-no-yachts")
    lou.shot("publish-confirmation")
    lou.page.get_by_role("button", name=re.compile("^Confirm: publish")).click()
    expect(lou.page.locator(".flash.info")).to_contain_text("is published")
    lou.shot("second-draft-published")

    # and legal rolls back to the version they started with: the same text, as a new version
    lee.page.goto(start_url)
    lee.page.get_by_role("link", name=re.compile("^Roll back to this version")).click()
    expect(lee.page.locator("main")).to_contain_text("byte for byte")
    lee.shot("rollback-confirmation")
    lee.page.get_by_role("button", name=re.compile("^Confirm: roll back")).click()
    expect(lee.page.locator(".flash.info").first).to_contain_text("is published")
    lee.shot("rolled-back")
    end_url, end_text = published_version(lee)
    assert end_url != start_url and end_text == start_text
    lee.shot("policies-at-the-end")
    lee.close()
    lou.close()
    screens.assert_accessible()
