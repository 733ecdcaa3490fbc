"""The clearance report as a page: the same signed report the API and CLI give, rendered by
``provenance.report_render``; a producer of another production is told it does not exist."""

from __future__ import annotations

from typing import Any

import pytest

from governance.audit.trust import TrustAnchors
from governance.auth.users import add_user, issue_token
from governance.credentials.keys import KeyStore
from governance.provenance import clearance_report, report_render
from governance.registry.people import add_production


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the page handed the renderer (the rendering itself is report_render's own tests')."""
    seen: list[dict[str, Any]] = []

    def render_html(signed: dict[str, Any]) -> str:
        seen.append(signed)
        return f"<!doctype html><title>Clearance report</title><p>{signed['report']['production']['name']}</p>"
    monkeypatch.setattr(report_render, "render_html", render_html)
    return seen


def test_a_producer_downloads_their_production_complete_signed_clearance_report(
        browser: Any, studio: dict[str, Any], app: Any, rendered: list[dict[str, Any]]) -> None:
    response = browser("pat-producer").get("/productions/harbour-lights/clearance.html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "harbour-lights" in response.get_data(as_text=True)
    assert response.headers["Content-Disposition"] == 'attachment; filename="clearance-harbour-lights.html"'
    keys = KeyStore(app.config["SLATE_SETTINGS"])
    assert clearance_report.verify_report(rendered[0], TrustAnchors.in_keys_folder(keys.dir)).ok


def test_a_producer_of_another_production_gets_no_clearance_page(browser: Any, studio: dict[str, Any],
                                                                 rendered: list[dict[str, Any]]) -> None:
    add_production("northern-line")
    add_user("nia-producer", ["producer"], ["northern-line"])
    nia = browser()
    assert nia.sign_in(issue_token("nia-producer")["token"]).status_code == 302
    response = nia.get("/productions/harbour-lights/clearance")
    assert response.status_code == 404 and rendered == []
    assert nia.get("/productions/harbour-lights/clearance.json").status_code == 404
    assert browser("gen-only").get("/productions/harbour-lights/clearance").status_code == 403


def test_the_clearance_page_judges_one_window_of_outputs_and_pages_through_the_rest(
        browser: Any, studio: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    windows: list[Any] = []
    real = clearance_report.clearance_report

    def judged(production: str, **kwargs: Any) -> Any:
        windows.append(kwargs.get("window"))
        return real(production, **kwargs)
    monkeypatch.setattr(clearance_report, "clearance_report", judged)
    monkeypatch.setattr(clearance_report, "output_count", lambda production: 120)
    body = browser("lee-legal").get("/productions/harbour-lights/clearance?page=2").get_data(as_text=True)
    assert windows == [(50, 50)]
    assert "page 2 of 3" in body and "page=3" in body and "page=1" in body
    assert "/productions/harbour-lights/clearance.pdf" in body and "It takes time" in body


def test_a_windowed_report_reads_only_the_outputs_of_its_window(browser: Any, studio: dict[str, Any]) -> None:
    report = clearance_report.clearance_report("harbour-lights", by=None, window=(0, 0))
    assert report.outputs == () and report.totals["outputs"] == 0


def test_a_clearance_page_number_that_is_not_a_number_is_a_clear_422(browser: Any, studio: dict[str, Any]) -> None:
    response = browser("lee-legal").get("/productions/harbour-lights/clearance?page=x")
    assert response.status_code == 422 and "whole number" in response.get_data(as_text=True)
