"""Legal's pages: a draft, another lawyer's review, publishing, diff, tests and replay."""

from __future__ import annotations

from governance.policy import versions
from tests.policy.conftest import FILE_VERSION, NEXT_VERSION, policy_text

REF = "urn:slate:policy:studio-default"


def draft_v2() -> bytes:
    """The next version: previs also needs a named approver."""
    return policy_text(NEXT_VERSION, edit=lambda t: t.replace(
        "release_uses: [final_frame, marketing]", "release_uses: [previs, final_frame, marketing]"))


def test_a_draft_is_reviewed_by_another_lawyer_then_published(browser):
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get("/policies")
    added = lee.post("/policies", {"text": draft_v2().decode()})
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/policies/{REF}@{NEXT_VERSION}")
    page = lee.get(f"/policies/{REF}@{NEXT_VERSION}").get_data(as_text=True)
    assert "another legal user must review and approve it" in page and "Approve this draft" not in page

    refused = lee.post(f"/policies/{REF}@{NEXT_VERSION}/approve", {"comment": "mine"})
    assert refused.status_code == 403 and "cannot approve it" in refused.get_data(as_text=True)
    not_approved = lou.post(f"/policies/{REF}@{NEXT_VERSION}/publish", {"confirm_sha256": "0" * 64, "replacing": "0"})
    assert not_approved.status_code == 409  # not approved yet

    page = lou.get(f"/policies/{REF}@{NEXT_VERSION}").get_data(as_text=True)
    assert "Approve this draft" in page
    assert lou.post(f"/policies/{REF}@{NEXT_VERSION}/approve", {"comment": "previs review is fine"}).status_code == 302
    confirm = lou.get(f"/policies/{REF}@{NEXT_VERSION}/publish").get_data(as_text=True)
    sha = confirm.split('name="confirm_sha256" value="')[1].split('"')[0]
    assert lou.post(f"/policies/{REF}@{NEXT_VERSION}/publish",
                    {"confirm_sha256": sha, "replacing": str(FILE_VERSION)}).status_code == 302
    assert versions.get_version(f"{REF}@{NEXT_VERSION}").status == "published"
    assert versions.get_version(f"{REF}@{FILE_VERSION}").status == "superseded"
    listing = lou.get("/policies").get_data(as_text=True)
    assert "published" in listing and "superseded" in listing


def test_the_diff_shows_the_changed_rule_side_by_side(browser):
    lee = browser("lee-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    body = lee.get("/policies/diff", query_string={"old": f"{REF}@{FILE_VERSION}",
                                                    "new": f"{REF}@{NEXT_VERSION}"}).get_data(as_text=True)
    assert "final-and-marketing-need-approval" in body and "lists.release_uses" in body
    assert "release_uses: [previs, final_frame, marketing]" in body  # the text, side by side
    assert f"version: {FILE_VERSION}" in body and f"version: {NEXT_VERSION}" in body


def test_the_policy_tests_run_on_the_chosen_version(browser):
    lee = browser("lee-legal")
    body = lee.get(f"/policies/{REF}@{FILE_VERSION}/tests").get_data(as_text=True)
    assert "case(s) passed" in body and "FAILED" not in body


def replayed_after(browser, studio, *prompts: str) -> str:
    """The replay page of the next version after the producer asked for ``prompts`` (previs, which
    the next version routes to an approver)."""
    producer = browser("pat-producer")
    producer.get("/requests/new")
    for prompt in prompts:
        producer.post("/requests/new", {"production": "harbour-lights", "use": "previs", "territory": "GB",
                                        "model": studio["model"], "prompt": prompt})
    lee = browser("lee-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    return lee.get(f"/policies/{REF}@{NEXT_VERSION}/replay").get_data(as_text=True)


def test_replay_names_the_decisions_a_draft_would_flip(browser, studio):
    body = replayed_after(browser, studio, "a quiet harbour")
    assert "1 would flip" in body and "needs approval" in body


def test_replay_page_replays_only_the_newest_requests_and_says_how_many_it_left_to_the_cli(browser, studio,
                                                                                          monkeypatch):
    from governance.web import policies as page

    monkeypatch.setattr(page, "REPLAY_PAGE", 1)
    body = replayed_after(browser, studio, "a quiet harbour", "a loud harbour")
    assert "1 recorded request(s) replayed: <strong>1 would flip</strong>" in body
    assert "newest 1 of 2 recorded request(s)" in body and "1 older decision(s) are not replayed here" in body
    assert "slate policy replay" in body


def test_replay_page_says_nothing_was_left_out_when_it_replays_everything(browser, studio):
    body = replayed_after(browser, studio, "a quiet harbour")
    assert "1 would flip" in body and "not replayed here" not in body


def test_a_broken_policy_file_is_reported_in_words(browser):
    lee = browser("lee-legal")
    lee.get("/policies")
    response = lee.post("/policies", {"text": "uid: [unclosed"})
    assert response.status_code == 422 and response.mimetype == "text/html"


def test_the_version_page_shows_the_static_analysis_warnings(browser):
    lee = browser("lee-legal")
    page = lee.get(f"/policies/{REF}@{FILE_VERSION}").get_data(as_text=True)
    assert "Warnings from the static analysis" in page
    assert "consent-confirmed (by consent-on-file)" in page and "<code>performer.consent_pending</code>" in page


def test_the_policy_tests_page_shows_each_rule_and_the_uncovered_ones(browser):
    lee = browser("lee-legal")
    body = lee.get(f"/policies/{REF}@{FILE_VERSION}/tests").get_data(as_text=True)
    assert "<h2>Coverage</h2>" in body and "<td>model-approved</td><td>requirement</td>" in body
    assert "Every rule fires in at least one case." in body and "No case makes these rules fire:" not in body


def test_the_version_page_offers_the_policy_as_odrl(browser):
    lee = browser("lee-legal")
    page = lee.get(f"/policies/{REF}@{FILE_VERSION}").get_data(as_text=True)
    assert "Download as ODRL" in page and f"/policies/{REF}@{FILE_VERSION}/odrl" in page
    download = lee.get(f"/policies/{REF}@{FILE_VERSION}/odrl")
    assert download.status_code == 200 and download.mimetype == "application/ld+json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert f"{REF}#model-not-retired" in download.get_data(as_text=True)
    assert browser("pat-producer").get(f"/policies/{REF}@{FILE_VERSION}/odrl").status_code == 403
