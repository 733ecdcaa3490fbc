"""A producer's day through the pages only, in a real browser against a real ``slate serve``.

Legal has licensed a reference still with a credit line (set up over the API: it is legal's
work, not the producer's), and the producer's six previs frames with it are generated and
signed by the embedded worker. Then, in the browser, the producer searches for the still by
its title in lower case, pages forward and back, downloads the results as CSV, reads the
production's credits owed and follows the count to the outputs, and meets an unknown name;
last, picks the still in the new-request form's picker for a request the policy denies, and
edits and resubmits it.
Every page is photographed and checked with axe-core.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.harness import SlateServer
from tests.web.browser import Person, Screens, sync_api

pytest.importorskip("torch", reason="the day runs the real worker, which needs the generator extra")

LICENCE = "LIC-DAY-STILLS"
TITLE = "Quay still, morning"
CREDIT = "Quay stills courtesy of Daybreak Archive"
FRAMES = 6


def png(seed: int) -> bytes:
    image = Image.new("RGB", (64, 64), (seed * 53 % 255, 90, seed * 29 % 255))
    for x in range(0, 64, 8):
        for y in range(0, 64, 8):
            if (x + y + seed) % 16 == 0:
                image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def upload_asset(server: SlateServer, user: str, fields: dict[str, str], content: bytes) -> dict[str, Any]:
    """A multipart asset upload whose file part says image/png (the harness's client sends
    every file as octet-stream)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="still.png"\r\n'
                 f"Content-Type: image/png\r\n\r\n".encode() + content + b"\r\n")
    request = urllib.request.Request(
        server.base + "/api/v1/assets", data=b"".join(parts) + f"--{boundary}--\r\n".encode(), method="POST",
        headers={"Authorization": f"Bearer {server.tokens[user]}",
                 "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def licensed_still(server: SlateServer) -> str:
    """Legal's part, over the API: a licence with a credit line and a reference still under it."""
    lee = server.client("lee-legal")
    answer = lee.call("POST", "/api/v1/licences", json_body={
        "ref": LICENCE, "licensor": "Daybreak Archive", "grants": ["ai_reference", "concept", "previs"],
        "territories": ["WW"], "starts_on": "2020-01-01",
        "attribution_required": True, "credit_text": CREDIT})
    assert answer.status == 201, answer.body
    asset = upload_asset(server, "lee-legal", {"title": TITLE, "licence": LICENCE, "production": "harbour-lights"},
                         png(7))
    return str(asset["sha256"])


def signed_frames(server: SlateServer, still: str) -> list[str]:
    """The producer's previs frames with the still, generated and signed by the worker."""
    pat = server.client("pat-producer")
    ids = []
    for seed in range(FRAMES):
        answer = pat.call("POST", "/api/v1/requests", json_body={
            "production": "harbour-lights", "use": "previs", "territory": "GB", "model": "slate-studio:1",
            "prompt": f"a teal square on ivory, frame {seed}", "references": [still], "people": [],
            "params": {"seed": seed, "steps": 4, "width": 64, "height": 64}})
        assert answer.status == 201, answer.body
        view = json.loads(answer.body)
        assert view["status"] == "queued", view["status"]
        ids.append(view["request"]["id"])
    outputs: dict[int, str] = {}
    deadline = time.monotonic() + 600
    while len(outputs) < len(ids) and time.monotonic() < deadline:
        for request_id in ids:
            if request_id not in outputs:
                view = json.loads(pat.call("GET", f"/api/v1/requests/{request_id}").body)
                assert view["status"] != "failed", view
                if view["job"] and view["job"].get("output_sha256"):
                    outputs[request_id] = view["job"]["output_sha256"]
        time.sleep(1)
    assert len(outputs) == len(ids), f"signed {len(outputs)} of {len(ids)} frames"
    return [outputs[i] for i in ids]


def listed(page: Any) -> list[str]:
    hrefs = page.locator("table.outputs tbody a[href*='/lineage']").evaluate_all("els => els.map(e => e.href)")
    return [h.rsplit("/outputs/", 1)[1].split("/", 1)[0] for h in hrefs]


def test_the_producer_searches_pages_exports_and_reads_the_credits_owed(
        server: SlateServer, chromium: Any, screens: Screens, tmp_path: Path) -> None:
    expect = sync_api().expect
    frames = set(signed_frames(server, licensed_still(server)))
    pat = Person(chromium, server, "pat-producer", screens)
    page = pat.page

    # search by the still's title typed in lower case, five to a page
    page.goto("/provenance")
    pat.shot("search-form")
    page.fill("#f-asset", TITLE.lower())
    page.select_option("#f-per-page", "5")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.outputs caption")).to_contain_text("Page 1: 5 output(s), more on the next page")
    first = listed(page)
    assert set(first) <= frames and len(first) == 5
    expect(page.locator("table.outputs tbody tr").first).to_contain_text(TITLE)
    expect(page.locator("table.outputs tbody tr").first).to_contain_text(CREDIT)
    pat.shot("search-by-title-in-lower-case")

    page.get_by_role("link", name="Next page").click()
    expect(page.locator("table.outputs caption")).to_contain_text("Page 2: 1 output(s)")
    assert set(listed(page)) | set(first) == frames
    pat.shot("search-page-2")
    page.get_by_role("link", name="Previous page").click()
    assert listed(page) == first

    # the filtered results as CSV
    with page.expect_download() as download:
        page.get_by_role("link", name="Download these results as CSV").click()
    saved = tmp_path / "outputs.csv"
    download.value.save_as(str(saved))
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert {r["sha256"] for r in rows} == frames
    assert {(r["references"], r["credits"], r["production"]) for r in rows} == {(TITLE, CREDIT, "harbour-lights")}

    # the credits the production owes (linked from the search page), and the outputs behind the count
    page.goto("/provenance")
    page.locator("p.actions").get_by_role("link", name="harbour-lights").click()
    row = page.locator("table.credits tbody tr").filter(has_text=CREDIT)
    expect(row).to_contain_text("Daybreak Archive")
    expect(row).to_contain_text(f"{FRAMES} outputs")
    pat.shot("credits-owed")
    row.get_by_role("link", name=f"{FRAMES} outputs").click()
    assert set(listed(page)) == frames
    pat.shot("outputs-owing-the-credit")

    # an unknown name is said beside the form, with the way to the registry
    page.goto("/provenance")
    page.fill("#f-person", "nobody by that name")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-problem")).to_contain_text("nobody by that name")
    expect(page.locator("#search-problem a[href='/registry']")).to_be_visible()
    expect(page.locator("#f-person")).to_have_value("nobody by that name")
    pat.shot("unknown-name")

    # a request the policy denies (a minor without the guardian's signature), edited and resubmitted
    page.goto("/requests/new")
    page.fill("#find", "QUAY STILL")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("fieldset.picker label")).to_have_count(1)
    page.get_by_label(TITLE).check()
    page.select_option("#use", "previs")
    page.fill("#territory", "GB")
    page.select_option("#model", "slate-studio:1")
    page.fill("#prompt", "the ferry boy on the quay at dawn")
    page.get_by_label("Kit Young").check()
    for field, value in (("#steps", "4"), ("#width", "64"), ("#height", "64")):
        page.fill(field, value)
    pat.shot("new-request-with-picked-reference")
    page.get_by_role("button", name="Submit for a decision").click()
    expect(page.locator("h2#decision")).to_contain_text("deny")
    expect(page.locator("dl.facts")).to_contain_text(TITLE)
    denied_url = page.url
    pat.shot("request-denied")
    page.get_by_role("link", name="Edit and resubmit").click()
    expect(page.locator("h1")).to_contain_text("Edit and resubmit request #")
    expect(page.locator("#prompt")).to_have_value("the ferry boy on the quay at dawn")
    assert "ferry" not in page.url
    expect(page.get_by_label(TITLE)).to_be_checked()
    pat.shot("edit-and-resubmit-form")
    page.get_by_label("Kit Young").uncheck()
    page.get_by_role("button", name="Submit for a decision").click()
    expect(page.locator("h2#decision")).to_contain_text("allow")
    expect(page.locator("dl.facts")).to_contain_text("Resubmission of")
    pat.shot("resubmitted-request-allowed")
    page.goto(denied_url)
    expect(page.locator("dl.facts")).to_contain_text("Resubmitted as")

    pat.close()
    assert screens.problems == []
    screens.assert_accessible()
