"""The reviewer's page in headless Chromium: an image output review held (a face nobody
declared) shown beside the registered works nearest to it, its face boxed; the approver
approves it from the page. Screenshots go to ``<pytest tmp dir>/…/screenshots``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.web.browser import Screens, needs_browser

pytestmark = needs_browser
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (the dev extra)")

from werkzeug.serving import make_server  # noqa: E402

from governance.jobs.tables import OutputReview  # noqa: E402
from tests.api.conftest import app, client  # noqa: E402,F401  (fixtures)
from tests.api.test_output_review import encoded, full, queued, reviewed, sign, skimage_data, studio  # noqa: E402,F401


@pytest.fixture
def served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_the_reviewer_sees_the_image_beside_its_nearest_works_and_approves_it(client, studio, reviewed, served,
                                                                              chromium, tmp_path: Path) -> None:
    job_id = queued(client, studio)
    held = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.astronaut())))
    assert held["status"] == "held"
    screens = Screens(tmp_path / "screenshots")
    context = chromium.new_context(base_url=served, viewport={"width": 1280, "height": 900})
    page: Any = context.new_page()
    page.goto("/")
    page.fill("#token", studio.tokens["ada-approver"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Output reviews").click()
    page.get_by_role("link", name=job_id).click()
    expect = sync_api.expect
    expect(page.locator("h1")).to_contain_text("held")
    image = page.get_by_alt_text("The generated image under review")
    expect(image).to_be_visible()
    matches = page.locator("figure.match img")
    expect(matches).to_have_count(len(held["facts"]["matches"]))
    # every picture actually loaded (the image and each nearest work's thumbnail)
    loaded = page.evaluate("() => [...document.images].map(i => i.complete && i.naturalWidth > 0)")
    assert loaded and all(loaded), loaded
    assert page.locator(".face-box").count() == held["facts"]["faces"] >= 1
    assert "Coffee still" in page.locator("section.compare").inner_text()
    screens.take(page, "output-review")
    page.fill("#comment", "crew member, cleared")
    page.get_by_role("button", name="Approve and sign this image").click()
    expect(page.locator("body")).to_contain_text("approved")
    screens.take(page, "approved")
    context.close()
    assert OutputReview.get_by_id(held["id"]).status == "approved"
    assert (screens.folder / "01-output-review.png").stat().st_size > 10_000
    screens.assert_accessible()
