"""The approver's pages: the queue oldest first with how long each request has waited, and one
request's approval page with its reference images (thumbnails, titles, licences), the people
and their consent terms, the evidence, and the prompt only where the policy lets approvers
read it. After a decision, back to the queue with the next oldest highlighted. A request
decided under a policy version replaced since shows a warning and "Decide again" instead
of Approve, and a sign-off POSTed anyway is refused."""

from __future__ import annotations

import logging
from datetime import timedelta

from governance.auth.users import add_user, issue_token
from governance.clock import utcnow
from governance.policy import versions
from governance.policy.tables import AwaitingApproval, DecisionRecord
from governance.registry.people import add_production
from governance.registry.tables import Consent, Person
from tests.policy.conftest import NEXT_VERSION, policy_text
from tests.web.test_requests import PROMPT, submit

REF = "urn:slate:policy:studio-default"
#: where the studio default says who may read the prompt (nowhere: the default is off)
DISCLOSE = ("lists:\n", "disclosure: {approversSeePrompt: true}\n\nlists:\n")


def request_id_of(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def publish(edit=lambda t: t, version: int = NEXT_VERSION) -> None:  # type: ignore[no-untyped-def]
    versions.add_version(policy_text(version, edit=edit), "lee-legal")
    versions.approve_version(f"{REF}@{version}", "lou-legal")
    versions.publish_version(f"{REF}@{version}", "lou-legal")


def waited(request_id: int, hours: int) -> None:
    since = utcnow() - timedelta(hours=hours)
    DecisionRecord.update(created_at=since).where(DecisionRecord.request == request_id).execute()
    AwaitingApproval.update(since=since).where(AwaitingApproval.request_id == request_id).execute()


def test_the_queue_lists_the_longest_waiting_first_with_its_waiting_time(browser, studio):
    producer = browser("pat-producer")
    newer = request_id_of(submit(producer, studio))
    older = request_id_of(submit(producer, studio))
    waited(older, 3)
    queue = browser("ada-approver").get("/approvals").get_data(as_text=True)
    assert queue.index(f"Request #{older}") < queue.index(f"Request #{newer}")
    assert "waiting 3 h" in queue and "waiting under a minute" in queue
    assert f'href="/approvals/{older}"' in queue


def test_the_approval_page_shows_each_reference_by_title_with_its_licence_and_thumbnail(browser, studio):
    request_id = request_id_of(submit(browser("pat-producer"), studio))
    page = browser("ada-approver").get(f"/approvals/{request_id}").get_data(as_text=True)
    assert "Harbour plate, dusk" in page and "LIC-NORTHLIGHT-PLATES from Northlight Archive" in page
    assert f'src="/assets/{studio["plate"]}/thumbnail"' in page and 'alt="Reference image: Harbour plate, dusk"' in page
    assert "final-and-marketing-need-approval" in page and "Background plates courtesy of Northlight Archive" in page
    assert f"Approve #{request_id}" in page


def test_the_approval_page_shows_each_persons_consent_terms_and_its_state_in_words(browser, studio):
    request_id = request_id_of(submit(browser("pat-producer"), studio, use="previs", references=[],
                                      people=["Mara Quinn"]))
    approver = browser("ada-approver")
    page = approver.get(f"/approvals/{request_id}").get_data(as_text=True)
    consent = Consent.select().join(Person).where(Person.name == "Mara Quinn").get()
    assert "Mara Quinn" in page and "employment based replica" in page
    assert consent.use_description and consent.use_description in page.replace("&#39;", "'")
    assert f"{consent.valid_from} to {consent.valid_until}" in page and ">active</span>" in page
    # the consent ran out since the decision: the approver reads that, not "active"
    yesterday = utcnow().date() - timedelta(days=1)
    Consent.update(valid_until=yesterday).where(Consent.id == consent.id).execute()
    page = approver.get(f"/approvals/{request_id}").get_data(as_text=True)
    assert f">expired on {yesterday.isoformat()}</span>" in page and ">active</span>" not in page
    # someone with database access rewrites the words after the decision: the approver is warned
    Consent.update(use_description="Any use, any production, forever.").where(Consent.id == consent.id).execute()
    page = approver.get(f"/approvals/{request_id}").get_data(as_text=True)
    assert "These words are not the ones the decision relied on" in page


def test_the_prompt_stays_confidential_unless_the_policy_lets_approvers_read_it(browser, studio, caplog):
    caplog.set_level(logging.INFO)
    producer = browser("pat-producer")
    hidden = request_id_of(submit(producer, studio))
    page = browser("ada-approver").get(f"/approvals/{hidden}").get_data(as_text=True)
    assert PROMPT not in page and "does not let approvers read the prompt" in page
    publish(lambda t: t.replace(*DISCLOSE, 1))
    shown = request_id_of(submit(producer, studio))
    for user in ("ada-approver", "lee-legal"):  # each may sign it off
        assert PROMPT in browser(user).get(f"/approvals/{shown}").get_data(as_text=True), user
    for user in ("aud-auditor", "pat-producer"):  # no sign-off of theirs counts (the requester's never)
        page = browser(user).get(f"/approvals/{shown}").get_data(as_text=True)
        assert PROMPT not in page and "shown only to someone whose sign-off" in page, user
    # the request decided under the version that said nothing stays confidential
    assert PROMPT not in browser("ada-approver").get(f"/approvals/{hidden}").get_data(as_text=True)
    assert PROMPT not in caplog.text


def test_after_a_decision_the_approver_is_back_in_the_queue_with_the_next_oldest_highlighted(browser, studio):
    producer = browser("pat-producer")
    first, second = request_id_of(submit(producer, studio)), request_id_of(submit(producer, studio))
    waited(first, 5)
    waited(second, 2)
    approver = browser("ada-approver")
    approver.get(f"/approvals/{first}")
    done = approver.post(f"/requests/{first}/approval", {"verdict": "approved", "comment": "ok", "then": "queue"})
    assert done.status_code == 302 and done.headers["Location"] == f"/approvals?after={first}"
    queue = approver.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Request #{first} signed off by you; it still needs 1 more sign-off from legal" in queue
    assert f'<tr class="next-up">\n    <th scope="row"><a href="/approvals/{second}"' in queue
    assert f'href="/approvals/{first}"' not in queue  # nothing more for ada to do on it


def test_a_stale_decision_is_decided_again_from_its_page_and_never_signed_under_the_old_version(browser, studio):
    request_id = request_id_of(submit(browser("pat-producer"), studio))
    publish()
    approver = browser("ada-approver")
    page = approver.get(f"/approvals/{request_id}").get_data(as_text=True)
    assert "The policy changed since this request was decided" in page
    assert f"Decide again under v{NEXT_VERSION}" in page and f"Approve #{request_id}" not in page
    assert "Policy changed since: decide again under version" in approver.get("/approvals").get_data(as_text=True)
    refused = approver.post(f"/requests/{request_id}/approval", {"verdict": "approved", "comment": "ok"})
    assert refused.status_code == 409 and refused.mimetype == "text/html"
    assert "cannot be signed under version" in refused.get_data(as_text=True)
    again = approver.post(f"/approvals/{request_id}/redecision")
    assert again.status_code == 302 and again.headers["Location"] == f"/approvals/{request_id}"
    page = approver.get(again.headers["Location"]).get_data(as_text=True)
    assert f"decided again under version {NEXT_VERSION}" in page and f"Approve #{request_id}" in page
    assert "The policy changed since" not in page


def test_insiders_cannot_decide_again_another_production_or_their_own_request_nor_forge_the_form(browser, studio):
    request_id = request_id_of(submit(browser("pat-producer"), studio))
    publish()
    add_production("northern-line")
    add_user("nia-producer", ["producer"], ["northern-line"])
    studio["tokens"]["nia-producer"] = issue_token("nia-producer")["token"]
    before = DecisionRecord.select().count()
    requester = browser("pat-producer")
    requester.get(f"/approvals/{request_id}")
    assert requester.post(f"/approvals/{request_id}/redecision").status_code == 403
    outsider = browser("nia-producer")
    assert outsider.get(f"/approvals/{request_id}").status_code == 404
    outsider.get("/approvals")
    assert outsider.post(f"/approvals/{request_id}/redecision").status_code == 404
    approver = browser("ada-approver")
    approver.get(f"/approvals/{request_id}")
    approver.csrf = "forged"
    assert approver.post(f"/approvals/{request_id}/redecision").status_code == 400
    assert DecisionRecord.select().count() == before


def test_once_generated_the_approval_page_shows_the_signed_output(browser, studio):
    from governance.jobs.tables import Job
    request_id = request_id_of(submit(browser("pat-producer"), studio, use="previs", references=[],
                                      people=["Mara Quinn"]))
    approver = browser("ada-approver")
    approver.get(f"/approvals/{request_id}")
    assert approver.post(f"/requests/{request_id}/approval", {"verdict": "approved", "comment": "ok"}).status_code \
        == 302
    Job.update(output_sha256="ab" * 32, status="succeeded").where(Job.request == request_id).execute()
    response = approver.get(f"/approvals/{request_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The generated image" in page
    assert f'src="/outputs/{"ab" * 32}/thumbnail"' in page and f"Approve #{request_id}" not in page
