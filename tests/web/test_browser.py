"""Each role's main task, in headless Chromium, against a real ``slate serve`` with its worker.

Legal A uploads a new policy version, legal B runs its tests, sees the replay and the
diff, approves and publishes it; a producer submits a request; an approver approves it;
the producer sees and downloads the signed output; an auditor verifies it and the audit
log. Screenshots of each step go to ``<pytest tmp dir>/…/screenshots``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.web.browser import Person, Screens, needs_browser

pytestmark = needs_browser
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (the dev extra)")
pytest.importorskip("torch", reason="browser tests run the real worker, which needs the generator extra")

from tests.e2e.conftest import micro_bundle, prepare_home  # noqa: E402,F401  (micro_bundle is a fixture)
from tests.e2e.harness import SlateServer, start_server  # noqa: E402
from tests.policy.conftest import FILE_VERSION, NEXT_VERSION  # noqa: E402
from tests.web.test_policies import REF, draft_v2  # noqa: E402

PREVIS_PROMPT = "a small ivory square on teal, slate studio style"
FINAL_PROMPT = "a large teal circle centre on ivory background, slate studio style"


@pytest.fixture
def server(tmp_path: Path, micro_bundle: Path) -> Iterator[SlateServer]:
    prepare_home(tmp_path / "home", micro_bundle)
    running = start_server(tmp_path / "home")
    yield running
    running.stop()


def fill_request(page: Any, use: str, prompt: str, *, reference: str | None = None) -> None:
    page.goto("/requests/new")
    page.select_option("#use", use)
    page.fill("#territory", "GB")
    page.select_option("#model", "slate-studio:1")
    page.fill("#prompt", prompt)
    if reference:
        page.get_by_label(reference).check()
    page.fill("#steps", "4")
    page.fill("#width", "64")
    page.fill("#height", "64")
    page.get_by_role("button", name="Submit for a decision").click()


def wait_for_output(page: Any, timeout: float = 180) -> None:
    """The request page reloads itself (``static/refresh.js``) until the signed output shows."""
    page.locator("#output").wait_for(timeout=timeout * 1000)
    assert "failed" not in page.locator("h1").inner_text(), page.content()


def test_each_role_does_its_main_task_in_a_real_browser(server: SlateServer, chromium: Any, tmp_path: Path) -> None:
    screens = Screens(tmp_path / "screenshots")
    expect = sync_api.expect

    # a producer's first request: previs is allowed outright and generated
    pat = Person(chromium, server, "pat-producer", screens)
    fill_request(pat.page, "previs", PREVIS_PROMPT)
    expect(pat.page.locator("h2#decision")).to_contain_text("allow")
    pat.shot("producer-previs-allowed")

    # legal A uploads the next version (previs needs an approver too) and cannot approve it
    lee = Person(chromium, server, "lee-legal", screens)
    lee.page.goto("/policies")
    policy_file = tmp_path / "studio-default-v2.yaml"
    policy_file.write_bytes(draft_v2())
    lee.page.set_input_files("#policy-file", str(policy_file))
    lee.page.get_by_role("button", name="Record the draft").click()
    expect(lee.page.locator(".flash")).to_contain_text(f"Draft {REF}@{NEXT_VERSION} recorded")
    expect(lee.page.get_by_text("another legal user must review and approve it")).to_be_visible()
    lee.shot("legal-a-uploaded-draft")

    # legal B: tests, replay, diff, then review and publish
    lou = Person(chromium, server, "lou-legal", screens)
    lou.page.goto("/policies")
    lou.page.get_by_role("link", name=REF).last.click()
    lou.page.get_by_role("link", name="Run the policy tests").click()
    expect(lou.page.locator("p.flash")).to_contain_text("passed")
    expect(lou.page.get_by_text("FAILED")).to_have_count(0)
    lou.shot("legal-b-policy-tests")
    lou.page.go_back()
    lou.page.get_by_role("link", name="Replay recorded requests").click()
    expect(lou.page.get_by_text("1 would flip")).to_be_visible()
    lou.shot("legal-b-replay-impact")
    lou.page.go_back()
    lou.page.get_by_role("link", name=f"with version {FILE_VERSION}").click()
    expect(lou.page.locator("table.diff")).to_contain_text("final-and-marketing-need-approval")
    lou.shot("legal-b-side-by-side-diff")
    lou.page.goto(f"/policies/{REF}@{NEXT_VERSION}")
    lou.page.fill("#comment", "Previs now goes to an approver: agreed.")
    lou.page.get_by_role("button", name="Approve this draft").click()
    lou.page.get_by_role("link", name=f"Publish {REF}@{NEXT_VERSION}").click()
    lou.page.get_by_role("button", name=f"Confirm: publish {REF}@{NEXT_VERSION}").click()
    expect(lou.page.locator(".flash")).to_contain_text("is published")
    lou.shot("legal-b-published")

    # the producer asks for a final frame with the licensed plate: routed to an approver
    fill_request(pat.page, "final_frame", FINAL_PROMPT, reference="Harbour plate, dusk")
    expect(pat.page.locator("h1")).to_contain_text("waiting for approval")
    expect(pat.page.locator("ul.duties")).to_contain_text("Background plates courtesy of Northlight Archive")
    request_url = pat.page.url
    pat.shot("producer-awaiting-approval")

    # legal signs off first, from the request's approval page: the request still waits for an approver
    lee.page.goto("/approvals")
    lee.page.locator("table.queue tr").filter(has_text="final frame").get_by_role("link").first.click()
    expect(lee.page.locator("main")).to_contain_text("Final-frame and marketing use also needs legal's sign-off.")
    lee.page.fill("#comment", "Rights cleared")
    lee.page.get_by_role("button", name="Approve").click()
    expect(lee.page.locator(".flash")).to_contain_text("sign-off from approver")
    lee.shot("legal-signed-off")

    # the approver sees why it waits and approves it
    ada = Person(chromium, server, "ada-approver", screens)
    ada.page.goto("/approvals")
    ada.shot("approver-queue")
    ada.page.locator("table.queue tr").filter(has_text="final frame").get_by_role("link").first.click()
    expect(ada.page.locator("main")).to_contain_text("Final-frame and marketing use needs a named approver.")
    ada.page.fill("#comment", "OK for the final cut")
    ada.page.get_by_role("button", name="Approve").click()
    expect(ada.page.locator(".flash")).to_contain_text("approved: queued")
    ada.shot("approver-approved")

    # the producer sees the signed output and downloads it
    pat.page.goto(request_url)
    wait_for_output(pat.page)
    assert pat.page.eval_on_selector("figure.output img", "img => img.naturalWidth") > 0
    pat.shot("producer-signed-output")
    with pat.page.expect_download() as download:
        pat.page.get_by_role("link", name="Download the signed image").click()
    signed = tmp_path / "signed.png"
    download.value.save_as(str(signed))
    assert signed.read_bytes().startswith(b"\x89PNG")

    # the auditor verifies the file and the audit log
    aud = Person(chromium, server, "aud-auditor", screens)
    aud.page.goto("/verify")
    aud.page.set_input_files("#file", str(signed))
    aud.page.get_by_role("button", name="Verify").click()
    expect(aud.page.locator("h2#verdict")).to_contain_text("Verified: this image is intact")
    expect(aud.page.locator("dl.facts")).to_contain_text("ada-approver")
    aud.shot("auditor-verified")
    aud.page.goto("/audit")
    aud.page.get_by_role("button", name="Verify the audit log").click()
    expect(aud.page.locator("#audit-result")).to_have_text("The audit log is intact")
    aud.shot("auditor-audit-log")

    # provenance (where governance/provenance is installed): search, lineage picture, impact
    pat.page.goto("/provenance")
    if pat.page.locator("#f-licence").count():
        pat.page.fill("#f-licence", "LIC-NORTHLIGHT-PLATES")
        pat.page.get_by_role("button", name="Search").click()
        pat.page.locator("table a").first.click()
        picture = pat.page.locator("figure img")
        expect(picture).to_be_visible()
        assert picture.evaluate("img => img.naturalWidth") > 0
        pat.shot("producer-lineage-picture")
        pat.page.goto("/provenance")
        pat.page.fill("#i-licence", "LIC-NORTHLIGHT-PLATES")
        pat.page.get_by_role("button", name="Show the impact").click()
        expect(pat.page.locator("#impact")).to_be_visible()
        expect(pat.page.locator("main")).to_contain_text("1 signed output(s)")
        pat.shot("producer-revocation-impact")

    # a producer opening legal's page is refused in words
    pat.page.goto("/policies")
    expect(pat.page.locator("h1")).to_contain_text("Not for your roles")
    pat.shot("producer-refused-legal-page")

    print(f"\nscreenshots: {screens.folder}")
    screens.assert_accessible()
    assert screens.problems == [], screens.problems  # no CSP violations, no script errors
    everything = "\n".join(screens.pages)
    assert PREVIS_PROMPT not in everything and FINAL_PROMPT not in everything
    urls = [u for p in (pat, lee, lou, ada, aud) for u in p.visited]
    assert not any(token in url for token in server.tokens.values() for url in urls)
    assert not any(FINAL_PROMPT in line for line in server.output)
