"""Legal's review on the pages: reject or send back with a comment, publish and roll back only
through a confirmation page showing what changes, a new draft started from a version in an
editor, test cases kept in the database, and per-rule coverage flagging changed rules no test
exercises. Each action refused to those who must not take it."""

from __future__ import annotations

import yaml

from governance.policy import versions
from governance.policy.loader import read_yaml
from governance.policy.tables import PolicyTestCase, PolicyVersion
from tests.policy.conftest import FILE_VERSION, NEXT_VERSION, policy_text
from tests.web.conftest import REPO
from tests.web.test_policies import REF, draft_v2

V1, V2 = f"{REF}@{FILE_VERSION}", f"{REF}@{NEXT_VERSION}"
YACHTS = """  - id: prompt-no-yachts
    type: prohibition
    title: The prompt must not ask for a yacht.
    target: request
    constraint: {leftOperand: request.prompt_terms, operator: hasAnyOf, rightOperand: [yacht]}

  - id: prompt-names-person-without-likeness-consent"""


def draft_with_a_new_rule() -> str:
    return policy_text(NEXT_VERSION, edit=lambda t: t.replace(
        "  - id: prompt-names-person-without-likeness-consent", YACHTS, 1)).decode()


def yacht_case() -> str:
    """A tests document in the file's format: the studio tests' base, one case for the new rule."""
    base = read_yaml((REPO / "policies" / "studio-default.tests.yaml").read_bytes(), "tests")["base"]
    return yaml.safe_dump({"base": base, "cases": [{
        "name": "a yacht in the prompt is refused", "facts": {"request": {"prompt": "a yacht at the quay"}},
        "expect": {"decision": "deny", "violated": ["prompt-no-yachts"]}}]}, sort_keys=False)


def _approved_v2(browser):  # type: ignore[no-untyped-def]
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    lou.get(f"/policies/{V2}")
    assert lou.post(f"/policies/{V2}/approve", {"comment": "fine"}).status_code == 302
    return lee, lou


def _confirm(b, ref: str, what: str = "publish"):  # type: ignore[no-untyped-def]
    page = b.get(f"/policies/{ref}/{what}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sha = html.split('name="confirm_sha256" value="')[1].split('"')[0]
    replacing = html.split('name="replacing" value="')[1].split('"')[0]
    return b.post(f"/policies/{ref}/{what}", {"confirm_sha256": sha, "replacing": replacing}), html


def test_a_second_lawyer_rejects_a_draft_with_a_comment_the_author_sees(browser):
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    page = lou.get(f"/policies/{V2}").get_data(as_text=True)
    assert "Request changes" in page and "Reject" in page
    rejected = lou.post(f"/policies/{V2}/review", {"verdict": "rejected", "comment": "previs needs no approver"})
    assert rejected.status_code == 302
    shown = lee.get(f"/policies/{V2}").get_data(as_text=True)
    assert "rejected" in shown and "previs needs no approver" in shown and "Publish" not in shown
    assert versions.get_version(V2).status == "rejected"


def test_a_review_without_a_comment_is_refused_in_words_and_changes_nothing(browser):
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    lou.get(f"/policies/{V2}")
    refused = lou.post(f"/policies/{V2}/review", {"verdict": "changes_requested", "comment": " "})
    assert refused.status_code == 422 and refused.mimetype == "text/html"
    assert "say why in the comment" in refused.get_data(as_text=True).lower()
    assert versions.get_version(V2).status == "draft"


def test_the_author_and_a_producer_cannot_reject_or_send_back_a_draft(browser):
    lee = browser("lee-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    own = lee.post(f"/policies/{V2}/review", {"verdict": "rejected", "comment": "mine"})
    assert own.status_code == 403 and "cannot review it" in own.get_data(as_text=True)
    producer = browser("pat-producer")
    producer.get("/")
    assert producer.post(f"/policies/{V2}/review", {"verdict": "rejected", "comment": "x"}).status_code == 403
    assert versions.get_version(V2).status == "draft"


def test_a_forged_review_form_is_refused(browser):
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get("/policies")
    lee.post("/policies", {"text": draft_v2().decode()})
    forged = lou.client.post(f"/policies/{V2}/review", data={"verdict": "rejected", "comment": "x",
                                                               "csrf_token": "forged"})
    assert forged.status_code == 400 and versions.get_version(V2).status == "draft"


def test_publishing_shows_what_changes_and_needs_the_confirmation(browser, studio):
    producer = browser("pat-producer")
    producer.get("/requests/new")
    producer.post("/requests/new", {"production": "harbour-lights", "use": "previs", "territory": "GB",
                                    "model": studio["model"], "prompt": "a quiet harbour"})
    _lee, lou = _approved_v2(browser)
    page = lou.get(f"/policies/{V2}").get_data(as_text=True)
    assert f"/policies/{V2}/publish" in page and "Publish" in page
    one_click = lou.post(f"/policies/{V2}/publish")
    assert one_click.status_code == 422
    assert "confirm on the publish page first" in one_click.get_data(as_text=True).lower()
    assert versions.get_version(V2).status == "approved"
    published, preview = _confirm(lou, V2)
    assert "final-and-marketing-need-approval" in preview
    assert "Replayed on the 1 most recent recorded decision(s): <strong>1</strong> would" in preview
    assert f"replacing version {FILE_VERSION}" in preview
    assert published.status_code == 302 and versions.active_version().version == NEXT_VERSION


def test_a_publish_confirmed_before_another_version_was_published_is_refused(browser):
    _lee, lou = _approved_v2(browser)
    lou.get(f"/policies/{V2}/publish")
    sha = versions.get_version(V2).sha256
    stale = lou.post(f"/policies/{V2}/publish", {"confirm_sha256": sha, "replacing": "0"})
    assert stale.status_code == 409 and "changed since the confirmation" in stale.get_data(as_text=True)
    unicode_digit = lou.post(f"/policies/{V2}/publish", {"confirm_sha256": sha, "replacing": "\u00b2"})
    assert unicode_digit.status_code == 422  # '²'.isdigit() is true, int('²') is not
    assert versions.get_version(V2).status == "approved"


def test_rolling_back_republishes_the_earlier_text_as_a_new_version(browser):
    lee, lou = _approved_v2(browser)
    _confirm(lou, V2)
    page = lee.get(f"/policies/{V1}").get_data(as_text=True)
    assert "Roll back to this version" in page
    rolled, preview = _confirm(lee, V1, "rollback")
    assert "Roll back to" in preview and "byte for byte" in preview
    v3 = f"{REF}@{NEXT_VERSION + 1}"
    assert rolled.status_code == 302 and rolled.headers["Location"].endswith(f"/policies/{v3}")
    assert versions.active_version().text == versions.get_version(V1).text
    assert "A rollback: the text of" in lee.get(f"/policies/{v3}").get_data(as_text=True)


def test_the_confirmation_pages_refuse_what_could_not_be_confirmed(browser):
    lee = browser("lee-legal")
    current = lee.get(f"/policies/{V1}/rollback")  # the published one: nothing to roll back to
    assert current.status_code == 409 and "only a version that was published and later superseded" \
        in current.get_data(as_text=True)
    assert lee.get(f"/policies/{V1}/publish").status_code == 409  # already published
    assert "Roll back to this version" not in lee.get(f"/policies/{V1}").get_data(as_text=True)


def test_a_producer_cannot_roll_back_or_publish(browser):
    _lee, _lou = _approved_v2(browser)
    producer = browser("pat-producer")
    producer.get("/")
    sha = versions.get_version(V1).sha256
    assert producer.post(f"/policies/{V1}/rollback", {"confirm_sha256": sha, "replacing": "7"}).status_code == 403
    assert producer.post(f"/policies/{V2}/publish", {"confirm_sha256": sha, "replacing": "7"}).status_code == 403
    assert producer.get(f"/policies/{V2}/publish").status_code == 403
    assert versions.active_version().version == FILE_VERSION and PolicyVersion.select().count() == 2


def test_a_new_draft_starts_from_the_current_text_in_an_editor(browser):
    lee = browser("lee-legal")
    editor = lee.get(f"/policies/{V1}/draft").get_data(as_text=True)
    assert '<textarea id="text" name="text"' in editor and f"version: {NEXT_VERSION}\n" in editor
    assert f"/policies/{V1}/draft" in lee.get("/policies").get_data(as_text=True)  # from the list, too
    broken = versions.draft_text(V1).replace("operator: exists", "operator: maybe", 1)
    refused = lee.post(f"/policies/{V1}/draft", {"text": broken})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "operator: maybe" in html  # the text kept, in the editor
    assert 'aria-invalid="true"' in html and "&#39;maybe&#39; is not one of" in html
    text = versions.draft_text(V1).replace("[nude,", "[blood, nude,")
    saved = lee.post(f"/policies/{V1}/draft", {"text": text})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/policies/{V2}")
    assert versions.get_version(V2).status == "draft" and versions.get_version(V2).author == "lee-legal"


def test_test_cases_are_added_on_the_page_and_a_changed_rule_without_one_is_flagged(browser):
    lee = browser("lee-legal")
    lee.get("/policies")
    assert lee.post("/policies", {"text": draft_with_a_new_rule()}).status_code == 302
    page = lee.get(f"/policies/{V2}").get_data(as_text=True)
    assert "Changed without a test: no test case exercises prompt-no-yachts" in page
    lee.get(f"/policies/{V2}/cases")
    broken = lee.post(f"/policies/{V2}/cases", {"name": "yachts", "body": "cases: [{name: x}]"})
    html = broken.get_data(as_text=True)
    assert broken.status_code == 422 and PolicyTestCase.select().count() == 0
    assert 'aria-invalid="true"' in html and "cases: [{name: x}]" in html  # the problem beside what was typed
    assert lee.post(f"/policies/{V2}/cases", {"name": "yachts", "body": yacht_case()}).status_code == 302
    listed = lee.get(f"/policies/{V2}/cases").get_data(as_text=True)
    assert "yachts" in listed
    page = lee.get(f"/policies/{V2}").get_data(as_text=True)
    assert "Changed without a test" not in page
    tests = lee.get(f"/policies/{V2}/tests").get_data(as_text=True)
    assert "a yacht in the prompt is refused" in tests and "FAILED" not in tests


def test_a_test_case_is_edited_on_its_page_and_a_producer_cannot_touch_it(browser):
    lee, lou = browser("lee-legal"), browser("lou-legal")
    lee.get(f"/policies/{V1}/cases")
    lee.post(f"/policies/{V1}/cases", {"name": "yachts", "body": yacht_case()})
    case = PolicyTestCase.get()
    lou.get(f"/policy-cases/{case.id}")
    edited = lou.post(f"/policy-cases/{case.id}", {"name": "yachts, allowed",
                                                   "body": yacht_case().replace("deny", "allow")})
    assert edited.status_code == 302
    assert (PolicyTestCase.get().name, PolicyTestCase.get().updated_by) == ("yachts, allowed", "lou-legal")
    producer = browser("pat-producer")
    producer.get("/")
    assert producer.post(f"/policy-cases/{case.id}", {"name": "x", "body": yacht_case()}).status_code == 403
    assert producer.get(f"/policy-cases/{case.id}").status_code == 403
    assert PolicyTestCase.get().name == "yachts, allowed"
