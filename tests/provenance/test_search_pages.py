"""The producer's provenance search page and its CSV export, through a signed-in browser client."""

from __future__ import annotations

import csv
import io
import re

import pytest

from governance.auth.users import add_user, issue_token
from governance.ledger.tables import Output
from tests.web.conftest import Browser

ROWS = re.compile(r'<a href="/provenance/outputs/([0-9a-f]{64})/lineage">')


@pytest.fixture
def as_user(app, signed):
    add_user("nora-producer", ["producer"], ["northern-line"])
    tokens = {**signed.tokens, "nora-producer": issue_token("nora-producer")["token"]}

    def open_as(user: str) -> Browser:
        b = Browser(app.test_client())
        assert b.sign_in(tokens[user]).status_code == 302
        return b
    return open_as


def listed(html: str) -> list[str]:
    return ROWS.findall(html)


def test_a_producer_finds_a_person_typed_in_lower_case(as_user, signed):
    page = as_user("pat-producer").get("/provenance?person=mara+quinn")
    assert page.status_code == 200
    assert listed(page.get_data(as_text=True)) == [signed.outputs["mara"]]


def test_the_results_name_reference_images_and_credit_lines_not_hashes(as_user, signed):
    html = as_user("pat-producer").get("/provenance?asset=harbour+plate,+dusk").get_data(as_text=True)
    assert listed(html) == [signed.outputs["plate"]]
    assert "Harbour plate, dusk" in html and "Background plates courtesy of Northlight Archive" in html
    assert signed.plate not in html.split("<table", 1)[1]


def test_an_ambiguous_title_answers_a_choice_of_links_each_finding_one(as_user, signed):
    from governance.registry import assets
    from tests.provenance.conftest import png
    one, _ = assets.register_asset(png(901), media_type="image/png", title="Quay plate", production="harbour-lights")
    two, _ = assets.register_asset(png(902), media_type="image/png", title="QUAY PLATE", production="harbour-lights")
    browser = as_user("pat-producer")
    page = browser.get("/provenance?asset=quay+plate&outcome=allow")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Which one did you mean?" in html
    choices = html.split('<ul class="choices">', 1)[1].split("</ul>", 1)[0]
    links = re.findall(r'<a href="([^"]+)">', choices)
    assert sorted(links) == sorted(f"/provenance?asset={s}&amp;outcome=allow" for s in (one["sha256"], two["sha256"]))
    assert browser.get(links[0].replace("&amp;", "&")).status_code == 200


def test_an_unknown_name_is_said_beside_the_form_with_a_way_to_the_registry(as_user):
    page = as_user("pat-producer").get("/provenance?person=nobody+here")
    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "nobody here" in html and 'href="/registry"' in html and "slate " not in html.lower().split("<main", 1)[-1]
    assert 'value="nobody here"' in html  # the form keeps what was typed


def test_pages_follow_the_cursor_forward_and_back_without_repeats(as_user, signed, monkeypatch):
    from governance.web import provenance
    monkeypatch.setattr(provenance, "PAGE_SIZE", 2)
    browser = as_user("lee-legal")
    first = browser.get("/provenance").get_data(as_text=True)
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = browser.get(nxt).get_data(as_text=True)
    back = re.search(r'<a rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert browser.get(back).get_data(as_text=True).count("/lineage") == first.count("/lineage")
    assert listed(browser.get(back).get_data(as_text=True)) == listed(first)
    assert len(listed(first)) == 2 and not set(listed(first)) & set(listed(second))
    assert set(listed(first)) | set(listed(second)) == set(signed.outputs.values())
    assert 'rel="prev"' not in first and 'rel="next"' not in second


def test_a_tampered_cursor_is_refused_in_words_not_a_500(as_user):
    page = as_user("pat-producer").get("/provenance?cursor=not-a-cursor")
    assert page.status_code == 422 and "The cursor is not one Slate issued" in page.get_data(as_text=True)


def test_the_csv_export_holds_every_filtered_output_with_names(as_user, signed):
    response = as_user("pat-producer").get(
        "/provenance/export.csv?production=harbour-lights&licence=lic-northlight-plates")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="harbour-lights-outputs.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["sha256"] for r in rows] == [signed.outputs["plate"]]
    assert rows[0]["references"] == "Harbour plate, dusk" and rows[0]["production"] == "harbour-lights"


def test_a_producer_cannot_export_another_productions_outputs(as_user, signed):
    """Insider attack: naming a production they do not belong to, or none at all."""
    nora = as_user("nora-producer")
    refused = nora.get("/provenance/export.csv?production=harbour-lights")
    assert refused.status_code == 404 and "harbour" not in refused.headers.get("Content-Disposition", "")
    everything = nora.get("/provenance/export.csv")
    assert everything.status_code == 200
    body = everything.get_data(as_text=True)
    assert not any(sha in body for sha in signed.outputs.values())
    assert body.splitlines()[0].startswith("sha256,")
    assert listed(nora.get("/provenance").get_data(as_text=True)) == []


def test_cells_a_spreadsheet_would_run_are_neutralised(as_user, signed):
    """Insider attack: a standing reason (or title) written as a formula reaches the export as text."""
    Output.update(in_good_standing=False, standing_reason="=HYPERLINK(\"http://x\")").where(
        Output.sha256 == signed.outputs["plain"]).execute()
    body = as_user("pat-producer").get("/provenance/export.csv").get_data(as_text=True)
    rows = {r["sha256"]: r for r in csv.DictReader(io.StringIO(body))}
    assert rows[signed.outputs["plain"]]["standing_reason"] == "'=HYPERLINK(\"http://x\")"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows.values() for cell in r.values())


def test_the_credits_owed_page_counts_each_line_and_links_to_its_outputs(as_user, signed):
    signed.make("plate-again", 6, use="final_frame", references=[signed.plate])
    browser = as_user("pat-producer")
    page = browser.get("/productions/harbour-lights/credits")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Background plates courtesy of Northlight Archive" in html
    link = re.search(r'<a href="([^"]+)">2 outputs</a>', html).group(1).replace("&amp;", "&")
    assert sorted(listed(browser.get(link).get_data(as_text=True))) == sorted(
        [signed.outputs["plate"], signed.outputs["plate-again"]])
    rows = list(csv.DictReader(io.StringIO(browser.get("/productions/harbour-lights/credits.csv")
                                           .get_data(as_text=True))))
    assert [(r["kind"], r["line"], r["outputs"]) for r in rows] == [
        ("licensor", "Background plates courtesy of Northlight Archive", "2")]


def test_another_productions_producer_cannot_read_its_credits_owed(as_user, signed):
    """Insider attack: the page and its CSV answer as for a production that does not exist."""
    nora = as_user("nora-producer")
    for path in ("/productions/harbour-lights/credits", "/productions/harbour-lights/credits.csv"):
        hidden, missing = nora.get(path), nora.get(path.replace("harbour-lights", "no-such-production"))
        assert hidden.status_code == missing.status_code == 404
        assert "Northlight" not in hidden.get_data(as_text=True)
        assert hidden.get_data(as_text=True).replace("harbour-lights", "X") == missing.get_data(
            as_text=True).replace("no-such-production", "X")


def test_the_export_is_streamed_without_a_length_it_cannot_know(as_user, signed):
    response = as_user("pat-producer").get("/provenance/export.csv", buffered=False)
    assert response.is_streamed and "Content-Length" not in response.headers
    assert len(response.get_data(as_text=True).splitlines()) == 1 + len(signed.outputs)


def test_the_page_filters_by_use(as_user, signed):
    html = as_user("pat-producer").get("/provenance?use=final_frame").get_data(as_text=True)
    assert listed(html) == [signed.outputs["plate"]] and '<option value="final_frame" selected>' in html


def test_a_time_a_zone_moves_before_year_one_is_refused_in_words_not_a_500(as_user):
    for path in ("/provenance", "/provenance/export.csv"):
        page = as_user("pat-producer").get(f"{path}?production=harbour-lights&until=0001-01-01T00:00:00%2B05:00")
        assert page.status_code == 422 and "is not a time" in page.get_data(as_text=True)
