"""An auditor's day through the pages only, in a real browser against a real ``slate serve``.

Legal records three people over the API (legal's work, not the auditor's) and an admin signs
a checkpoint. Then, in the browser, the auditor reads the log newest first, pages to older
entries and back, narrows it to legal's "person.added" entries (typing the actor in capitals:
the match ignores case), opens an entry with its chain links and the checkpoint covering it,
reads the checkpoints and their signers, exports the narrowed entries as CSV and JSON Lines,
and verifies the whole log. Every page is photographed and checked with axe-core.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

from tests.e2e.harness import SlateServer
from tests.web.browser import Person, Screens, sync_api


def legal_records_people(server: SlateServer, names: list[str]) -> list[int]:
    legal = server.client("lee-legal")
    ids = []
    for name in names:
        answer = legal.call("POST", "/api/v1/people", json_body={"name": name, "productions": ["harbour-lights"]})
        assert answer.status == 201, answer.body
        ids.append(answer.json()["id"])
    signed = server.client("root-admin").call("POST", "/api/v1/audit/checkpoint")
    assert signed.status == 200, signed.body
    return ids


def download(page: Any, link_name: str) -> str:
    with page.expect_download() as caught:
        page.get_by_role("link", name=link_name, exact=True).click()
    return Path(caught.value.path()).read_text(encoding="utf-8")


def test_the_auditor_filters_pages_opens_exports_and_verifies_the_log(server: SlateServer, chromium: Any,
                                                                      screens: Screens) -> None:
    expect = sync_api().expect
    tag = uuid.uuid4().hex[:6]
    names = [f"Auditor Day {tag} {n}" for n in ("Ash", "Birch", "Cedar")]
    ids = legal_records_people(server, names)
    auditor = Person(chromium, server, "aud-auditor", screens)
    page = auditor.page

    page.goto("/audit")
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    expect(page.locator("table.audit-entries tbody tr")).to_have_count(50)
    auditor.shot("audit-log-newest-first")
    newest = page.locator("table.audit-entries tbody tr").first.locator("td").first.inner_text()
    page.get_by_role("link", name="Older entries").click()
    auditor.shot("audit-log-older-entries")
    assert int(page.locator("table.audit-entries tbody tr").first.locator("td").first.inner_text()) < int(newest)
    page.get_by_role("link", name="Newer entries").click()
    assert page.locator("table.audit-entries tbody tr").first.locator("td").first.inner_text() == newest

    page.fill("#a-actor", "LEE-LEGAL")
    page.select_option("#a-action", "person.added")
    page.get_by_role("button", name="Show entries").click()
    rows = page.locator("table.audit-entries tbody tr")
    for person_id in ids:
        expect(rows.filter(has_text=f"person:{person_id}")).to_have_count(1)
    actors = {a.strip() for a in rows.locator("td:nth-child(3)").all_inner_texts()}
    assert actors == {"lee-legal"}
    auditor.shot("audit-log-legal-adding-people")

    rows.filter(has_text=f"person:{ids[0]}").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Its place in the hash chain")).to_be_visible()
    expect(page.locator("main")).to_contain_text("its content still matches it")
    expect(page.locator("main")).to_contain_text(names[0])
    expect(page.locator("main")).to_contain_text("Slate content credentials signer")
    auditor.shot("audit-entry-with-its-checkpoint")

    page.get_by_role("link", name="Back to the audit log").click()
    page.get_by_role("link", name="All checkpoints").click()
    expect(page.locator("table.audit-checkpoints tbody tr").first).to_contain_text("Slate content credentials signer")
    auditor.shot("audit-checkpoints")

    page.go_back()
    page.fill("#a-actor", "Lee-Legal")
    page.select_option("#a-action", "person.added")
    page.get_by_role("button", name="Show entries").click()
    exported = list(csv.reader(io.StringIO(download(page, "CSV"))))
    assert exported[0] == ["seq", "at", "actor", "action", "subject", "data", "prev_hash", "entry_hash"]
    assert {r[2] for r in exported[1:]} == {"lee-legal"} and {r[3] for r in exported[1:]} == {"person.added"}
    assert {f"person:{i}" for i in ids} <= {r[4] for r in exported[1:]}
    lines = [json.loads(line) for line in download(page, "JSON Lines").splitlines()]
    assert [e["seq"] for e in lines] == [int(r[0]) for r in exported[1:]]
    assert {e["data"]["name"] for e in lines} >= set(names)

    page.get_by_role("button", name="Verify the audit log").click()
    expect(page.locator("#audit-result")).to_have_text("The audit log is intact")
    expect(page.locator("table.audit-checks tbody tr.pass")).to_have_count(3)
    auditor.shot("audit-log-verified")

    assert screens.problems == []
    auditor.close()
    screens.assert_accessible()
