"""Legal's pages: a draft, another lawyer's review, publishing, diff, tests and replay."""

from __future__ import annotations

from pathlib import Path

from governance.policy import versions

POLICY = Path(__file__).resolve().parents[2] / "policies" / "studio-default.yaml"
REF = "urn:slate:policy:studio-default"


def draft_v2() -> bytes:
    """Version 2: previs also needs a named approver."""
    text = POLICY.read_text().replace("version: 1\n", "version: 2\n", 1)
    text = text.replace("rightOperand: [final_frame, marketing]}", "rightOperand: [previs, final_frame, marketing]}")
    return text.encode()


def test_a_draft_is_reviewed_by_another_lawyer_then_published(browser):
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get("/policies")
    added = lee.post("/policies", {"text": draft_v2().decode()})
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/policies/{REF}@2")
    page = lee.get(f"/policies/{REF}@2").get_data(as_text=True)
    assert "another legal user must review and approve it" in page and "Approve this draft" not in page

    refused = lee.post(f"/policies/{REF}@2/approve", {"comment": "mine"})
    assert refused.status_code == 403 and "cannot approve it" in refused.get_data(as_text=True)
    assert lou.post(f"/policies/{REF}@2/publish").status_code == 409  # not approved yet

    page = lou.get(f"/policies/{REF}@2").get_data(as_text=True)
    assert "Approve this draft" in page
    assert lou.post(f"/policies/{REF}@2/approve", {"comment": "previs review is fine"}).status_code == 302
    assert lou.post(f"/policies/{REF}@2/publish").status_code == 302
    assert versions.get_version(f"{REF}@2").status == "published"
    assert versions.get_version(f"{REF}@1").status == "superseded"
    listing = lou.get("/policies").get_data(as_text=True)
    assert "published" in listing and "superseded" in listing


def test_the_diff_shows_the_changed_rule_side_by_side(browser):
    lee = browser("lee-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    body = lee.get("/policies/diff", query_string={"old": f"{REF}@1", "new": f"{REF}@2"}).get_data(as_text=True)
    assert "final-and-marketing-need-approval" in body and "constraint" in body
    assert "rightOperand: [previs, final_frame, marketing]}" in body  # the text, side by side
    assert "version: 1" in body and "version: 2" in body


def test_the_policy_tests_run_on_the_chosen_version(browser):
    lee = browser("lee-legal")
    body = lee.get(f"/policies/{REF}@1/tests").get_data(as_text=True)
    assert "case(s) passed" in body and "FAILED" not in body


def test_replay_names_the_decisions_a_draft_would_flip(browser, studio):
    producer = browser("pat-producer")
    producer.get("/requests/new")
    producer.post("/requests/new", {"production": "harbour-lights", "use": "previs", "territory": "GB",
                                    "model": studio["model"], "prompt": "a quiet harbour"})
    lee = browser("lee-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    body = lee.get(f"/policies/{REF}@2/replay").get_data(as_text=True)
    assert "1 would flip" in body and "needs approval" in body


def test_a_broken_policy_file_is_reported_in_words(browser):
    lee = browser("lee-legal")
    lee.get("/policies")
    response = lee.post("/policies", {"text": "uid: [unclosed"})
    assert response.status_code == 422 and response.mimetype == "text/html"
