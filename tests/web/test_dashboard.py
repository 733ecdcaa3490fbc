"""The home page's dashboard: what waits for each role, with counts, ages and links; never
another production's records, never the visitor's own request to sign off, never a prompt."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from governance.auth.users import add_user, issue_token
from governance.clock import utcnow
from governance.ledger.tables import Output
from governance.lifecycle import dashboard
from governance.policy.versions import add_version
from governance.principal import Principal
from governance.registry.people import add_production
from tests.web.conftest import Browser
from tests.web.test_policies import draft_v2
from tests.web.test_requests import PROMPT, submit


def request_id_of(response: Any) -> int:
    return int(response.headers["Location"].rsplit("/", 1)[1])


def queue_section(page: str, key: str) -> str:
    start = page.index(f'aria-labelledby="queue-{key}"')
    return page[start:page.index("</section>", start)]


def test_approvers_see_requests_waiting_for_their_sign_off_with_how_long_they_waited(browser, studio):
    request_id = request_id_of(submit(browser("pat-producer"), studio))
    for user in ("lee-legal", "ada-approver"):
        page = browser(user).get("/").get_data(as_text=True)
        queue = queue_section(page, "approvals")
        assert f'<a href="/requests/{request_id}">Request #{request_id}: final frame for harbour-lights, by ' \
               f'pat-producer</a>' in queue
        assert "waiting under a minute" in queue and '<span class="count some">1</span>' in queue
        assert PROMPT not in page
    lawyer = browser("lee-legal")
    lawyer.get("/approvals")
    assert lawyer.post(f"/requests/{request_id}/approval", {"verdict": "approved", "comment": "ok"}).status_code == 302
    # legal's sign-off is given: it no longer waits for legal, and still waits for the approver
    assert f"Request #{request_id}" not in queue_section(lawyer.get("/").get_data(as_text=True), "approvals")
    assert f"Request #{request_id}" in queue_section(browser("ada-approver").get("/").get_data(as_text=True),
                                                     "approvals")


def test_the_oldest_approval_comes_first(browser, studio):
    producer = browser("pat-producer")
    first, second = request_id_of(submit(producer, studio)), request_id_of(submit(producer, studio))
    queue = queue_section(browser("ada-approver").get("/").get_data(as_text=True), "approvals")
    assert queue.index(f"Request #{first}:") < queue.index(f"Request #{second}:")


def test_a_requester_never_finds_their_own_request_to_sign_off(app, studio):
    add_user("pam-both", ["producer", "approver"], ["harbour-lights"])
    both = Browser(app.test_client())
    both.sign_in(issue_token("pam-both")["token"])
    request_id = request_id_of(submit(both, studio))
    me = Principal(0, "pam-both", frozenset({"producer", "approver"}), frozenset({"harbour-lights"}))
    assert all(i.ref != str(request_id) for i in dashboard.approvals_for(me))
    assert f"Request #{request_id}" not in queue_section(both.get("/").get_data(as_text=True), "approvals")


def test_a_producer_sees_their_requests_denied_recently(browser, studio):
    producer = browser("pat-producer")
    denied = request_id_of(submit(producer, studio, people=["Kit Young"]))
    queue = queue_section(producer.get("/").get_data(as_text=True), "my_refusals")
    assert f'<a href="/requests/{denied}">Request #{denied}:' in queue and "denied by policy" in queue
    assert "under a minute ago" in queue
    # a denial older than the look-back no longer counts as recent
    pat = Principal(0, "pat-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))
    assert [i.ref for i in dashboard.refused_requests(pat, utcnow() + timedelta(minutes=1))] == []


def lose_standing(request_id: int, reason: str) -> str:
    sha256 = hashlib.sha256(f"output of {request_id} {reason}".encode()).hexdigest()
    Output.create(sha256=sha256, manifest_label=f"urn:test:{sha256[:16]}", cert_fingerprint="f" * 64,
                  media_type="image/png", job_id=f"job-{sha256[:8]}", decision_id="1", request_id=str(request_id),
                  model_ref="studio:1", signed_at=utcnow(), timestamped=False, claim_json="{}",
                  claim_sha256="0" * 64, in_good_standing=False, standing_reason=reason,
                  standing_changed_at=utcnow())
    return sha256


def test_outputs_that_lost_good_standing_reach_their_producer_and_the_auditor_only(app, browser, studio):
    request_id = request_id_of(submit(browser("pat-producer"), studio))
    sha256 = lose_standing(request_id, "consent #1 of Mara Quinn was revoked")
    for user, key in (("pat-producer", "lost_standing"), ("aud-auditor", "lost_standing")):
        queue = queue_section(browser(user).get("/").get_data(as_text=True), key)
        assert f'<a href="/provenance/outputs/{sha256}/lineage">Output {sha256[:12]}' in queue
        assert "consent #1 of Mara Quinn was revoked" in queue
    # an insider producing another show sees nothing of harbour-lights' outputs
    add_production("other-show")
    add_user("oli-producer", ["producer"], ["other-show"])
    other = Browser(app.test_client())
    other.sign_in(issue_token("oli-producer")["token"])
    page = other.get("/").get_data(as_text=True)
    assert sha256[:12] not in page and "Every output of your productions is in good standing." in page
    assert f"Request #{request_id}" not in page


def test_legal_sees_drafts_by_someone_else_waiting_for_review(browser):
    draft = add_version(draft_v2(), "lee-legal")
    ref = f"{draft['uid']}@{draft['version']}"
    queue = queue_section(browser("lou-legal").get("/").get_data(as_text=True), "policy_drafts")
    assert f'<a href="/policies/{ref}">' in queue and "by lee-legal" in queue and "waiting" in queue
    assert ref not in queue_section(browser("lee-legal").get("/").get_data(as_text=True), "policy_drafts")


def test_the_auditor_sees_where_the_audit_log_stands_and_a_link_to_verify_it(browser):
    page = browser("aud-auditor").get("/").get_data(as_text=True)
    section = queue_section(page, "audit")
    assert " entries." in section and '<a href="/audit">Verify the whole log</a>' in section
    assert "approvals" not in page.split('id="waiting"')[1].split('id="pages"')[0].lower()


def test_a_queue_lists_a_few_and_links_to_the_whole_list(browser, studio):
    producer = browser("pat-producer")
    for _ in range(dashboard.SHOWN + 1):
        submit(producer, studio)
    queue = queue_section(browser("ada-approver").get("/").get_data(as_text=True), "approvals")
    assert queue.count("<li>") == dashboard.SHOWN
    assert f'<a href="/approvals">See all {dashboard.SHOWN + 1}</a>' in queue


def test_other_productions_losses_do_not_push_a_producers_own_out_of_their_box(app, browser, studio):
    """Sixty outputs of another show lose standing after one of pat's: pat's still shows."""
    mine = lose_standing(request_id_of(submit(browser("pat-producer"), studio)), "a licence was taken down")
    add_production("other-show")
    add_user("oli-producer", ["producer"], ["other-show"])
    oli = Browser(app.test_client())
    oli.sign_in(issue_token("oli-producer")["token"])
    other = request_id_of(submit(oli, studio, production="other-show", use="previs", references=[]))
    for n in range(dashboard.BOUND + 10):
        sha = lose_standing(other, f"another show's consent #{n} was revoked")
        Output.update(standing_changed_at=utcnow() + timedelta(seconds=n + 1)).where(Output.sha256 == sha).execute()
    queue = queue_section(browser("pat-producer").get("/").get_data(as_text=True), "lost_standing")
    assert f"Output {mine[:12]}" in queue and "another show" not in queue
