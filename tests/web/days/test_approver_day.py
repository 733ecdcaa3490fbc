"""The approver's day, through the pages, in a real browser: the queue oldest first with how
long each request has waited; a request's approval page with its reference thumbnails, the
performer's consent terms and the evidence; back to the queue after each decision with the
next oldest highlighted; the generated image on the page once it is signed; and, after legal
publishes a new policy version, a warning and "Decide again" instead of Approve, then the
prompt shown because the new version lets approvers read it. Every page is photographed and
checked with axe-core.

The day publishes policy versions, so it runs on a ``slate serve`` of its own (the other
days share one that keeps the policy they expect).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.e2e.conftest import prepare_home
from tests.e2e.harness import SlateServer, start_server
from tests.policy.conftest import FILE_VERSION, NEXT_VERSION, policy_text
from tests.web.browser import Person, Screens, sync_api

REF = "urn:slate:policy:studio-default"
LIKENESS_PROMPT = "Mara Quinn on the quay at dusk, rehearsal frame"
FINAL_PROMPT = "the harbour wall at dawn, wide shot, confidential ending"
PARAMS = {"steps": 4, "width": 64, "height": 64}
#: where a request stands once its job has finished, one way or another
FINISHED = ("succeeded", "failed", "blocked", "awaiting_output_review", "output_refused")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, micro_bundle: Path) -> Iterator[SlateServer]:
    home = tmp_path_factory.mktemp("approver-day-home")
    prepare_home(home, micro_bundle)
    running = start_server(home)
    yield running
    running.stop()


def ask(server: SlateServer, body: dict[str, Any]) -> int:
    answer = server.client("pat-producer").call("POST", "/api/v1/requests", json_body={
        "production": "harbour-lights", "territory": "GB", "model": "slate-studio:1", "params": PARAMS, **body})
    assert answer.status == 201 and answer.json()["status"] == "awaiting_approval", answer.body
    return int(answer.json()["request"]["id"])


def publish_disclosing_version(server: SlateServer) -> None:
    """Legal's part, by the API: the next version lets approvers read the prompt."""
    text = policy_text(NEXT_VERSION, edit=lambda t: t.replace(
        "lists:\n", "disclosure: {approversSeePrompt: true}\n\nlists:\n", 1)).decode()
    ref = f"{REF}@{NEXT_VERSION}"
    assert server.client("lee-legal").call("POST", "/api/v1/policies", json_body={"text": text}).status == 201
    lou = server.client("lou-legal")
    assert lou.call("POST", f"/api/v1/policies/{ref}/approve", json_body={"comment": "approvers read prompts"}) \
        .status == 200
    assert lou.call("POST", f"/api/v1/policies/{ref}/publish").status == 200


def wait_until_generated(server: SlateServer, request_id: int, timeout: float = 420) -> dict[str, Any]:
    """The request as the API shows it once its job has finished (the embedded worker's pace)."""
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = server.client("ada-approver").call("GET", f"/api/v1/requests/{request_id}") \
            .json()
        if state["status"] in FINISHED or time.monotonic() > deadline:
            return state
        time.sleep(2)


def loaded(page: Any, selector: str) -> bool:
    image = page.locator(selector).first
    image.scroll_into_view_if_needed()
    return bool(image.evaluate("img => img.complete && img.naturalWidth > 0"))


def test_the_approvers_day(server: SlateServer, chromium: Any, screens: Screens) -> None:
    expect = sync_api().expect
    plate = next(a["sha256"] for a in server.client("pat-producer").call("GET", "/api/v1/assets").json()
                 if a["title"] == "Harbour plate, dusk")
    likeness = ask(server, {"use": "previs", "prompt": LIKENESS_PROMPT, "people": ["Mara Quinn"],
                            "references": [plate]})
    final = ask(server, {"use": "final_frame", "prompt": FINAL_PROMPT, "references": [plate]})
    ada = Person(chromium, server, "ada-approver", screens)
    page = ada.page

    # the queue: oldest first, each with how long it has waited
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Approvals").click()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"Request #{likeness}")
    expect(rows.nth(1)).to_contain_text(f"Request #{final}")
    expect(rows.nth(0)).to_contain_text("waiting")
    ada.shot("queue-oldest-first")

    # the likeness request's approval page: the reference's thumbnail, the performer's terms
    rows.nth(0).get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text(f"Request #{likeness}")
    expect(page.locator("ul.thumbs")).to_contain_text("Harbour plate, dusk")
    expect(page.locator("ul.thumbs")).to_contain_text("LIC-NORTHLIGHT-PLATES from Northlight Archive")
    assert loaded(page, "ul.thumbs img")
    consents = page.locator("table.consents")
    expect(consents).to_contain_text("Mara Quinn")
    expect(consents.locator(".badge")).to_have_text("active")
    expect(page.locator("#prompt-heading + p")).to_contain_text("does not let approvers read the prompt")
    ada.shot("approval-page-likeness")

    # approve it: back to the queue, the request named, the next oldest highlighted
    page.fill("#comment", "Consent covers previs; likeness as agreed")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_contain_text(f"Request #{likeness} approved: queued.")
    expect(page.locator("tr.next-up")).to_contain_text(f"Request #{final}")
    ada.shot("queue-next-highlighted")

    # once signed, the generated image shows on the approval page
    state = wait_until_generated(server, likeness)
    assert state["status"] == "succeeded", state
    page.goto(f"/approvals/{likeness}")
    expect(page.locator("#output-heading")).to_have_text("The generated image")
    assert loaded(page, "section[aria-labelledby=output-heading] img")
    ada.shot("approval-page-with-output")

    # legal publishes a version that lets approvers read prompts: the final frame's decision is stale
    publish_disclosing_version(server)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Approvals").click()
    expect(page.locator("table.queue")).to_contain_text("Policy changed since")
    page.locator("table.queue tbody tr").first.get_by_role("link").click()
    expect(page.locator(".card.stale")).to_contain_text(
        f"decided under {REF} version {FILE_VERSION}; version {NEXT_VERSION} is published now")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    ada.shot("stale-decision-warning")

    page.get_by_role("button", name=f"Decide again under v{NEXT_VERSION}").click()
    expect(page.locator(".flash")).to_contain_text(f"decided again under version {NEXT_VERSION}")
    expect(page.locator(".card.stale")).to_have_count(0)
    expect(page.locator("blockquote.prompt")).to_have_text(FINAL_PROMPT)
    ada.shot("decided-again-prompt-disclosed")

    page.fill("#comment", "Fine for the final cut")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash")).to_contain_text("it still needs 1 more sign-off from legal")
    expect(page.locator("main")).to_contain_text("Nothing awaits approval.")
    ada.shot("queue-done")

    # the likeness request was decided under a version that kept its prompt confidential
    assert not any(LIKENESS_PROMPT in html for html in screens.pages)
    assert screens.problems == []
    ada.close()
    screens.assert_accessible()
