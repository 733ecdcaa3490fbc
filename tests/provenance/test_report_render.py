"""The clearance report's HTML and PDF renderings (provenance.report_render), from a
hand-written signed report in the plan's shape (tests/provenance/report_sample.py)."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pypdfium2 as pdfium
import pytest
from PIL import ImageStat

from governance.canonical import canonical_json, sha256_hex
from governance.errors import InvalidInput
from governance.provenance.report_render import RefusingFetcher, pdf_from_html, render_html, render_pdf
from tests.provenance.report_sample import MARA, PLATE, sample_report, signed


def test_html_is_a_standalone_document_with_every_section_and_no_script():
    html = render_html(signed())
    assert html.startswith("<!doctype html>")
    for section in ("totals", "issues", "disclosure", "credits", "outputs"):
        assert f'<section id="{section}">' in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html)
    assert "Harbour Lights" in html and "EU AI Act Art. 50" in html


def test_title_page_names_the_signing_key_and_the_reports_canonical_sha256():
    document = signed()
    html = render_html(document)
    assert sha256_hex(canonical_json(document["report"])) in html
    assert document["signature"]["key"] in html


def test_issues_carry_their_action_and_the_credits_keep_their_order():
    html = render_html(signed())
    assert "replace the shot or clear the plate again" in html
    assert PLATE in html.split('<section id="issues">')[1].split("</section>")[0]
    roll = html.split('<section id="credits">')[1]
    assert roll.index("Mara Quinn (digital replica)") < roll.index("Plates courtesy of Northlight")


def test_disclosure_lists_the_outputs_depicting_real_people():
    section = render_html(signed()).split('<section id="disclosure">')[1].split("</section>")[0]
    assert MARA in section and PLATE not in section


def test_values_from_the_ledger_are_escaped_not_markup():
    report = sample_report()
    report["production"]["title"] = '<img src="http://attacker.example/x.png"><script>alert(1)</script>'
    report["issues"][0]["action"] = "</style><b>bold</b>"
    html = render_html(signed(report))
    assert "<script>alert" not in html and "<img src=" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;" in html


def test_timeline_scope_shows_the_unmatched_clips_and_why():
    report = sample_report()
    report["scope"] = {"kind": "timeline", "timeline": {
        "name": "HARBOUR CUT v3", "format": "cmx_3600", "clips": 4, "matched": 3,
        "unmatched": [{"clip": "004 slate_black", "reason": "its name holds no output hash"}]}}
    html = render_html(signed(report))
    assert "HARBOUR CUT v3" in html and "3 of 4 clips" in html
    assert "004 slate_black" in html and "its name holds no output hash" in html


def test_something_other_than_a_signed_report_is_refused_with_a_clear_error():
    with pytest.raises(InvalidInput, match="not a signed clearance report"):
        render_html({"report": {"format": "something-else"}, "signature": {}})
    with pytest.raises(InvalidInput):
        render_pdf({"outputs": []})


def test_pdf_first_page_is_an_a4_title_page_with_the_production_and_a_dark_banner():
    pdf = render_pdf(signed())
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    assert len(document) >= 2  # title page, then the body
    page = document[0]
    width, height = page.get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = page.get_textpage().get_text_range()
    assert "Clearance report" in text and "Harbour Lights" in text and "1 item not in good standing" in text
    image = page.render(scale=1).to_pil().convert("L")
    w, h = image.size
    banner = image.crop((int(w * 0.15), int(h * 0.07), int(w * 0.85), int(h * 0.16)))
    margin = image.crop((0, int(h * 0.5), int(w * 0.05), int(h * 0.9)))
    assert _mean(banner) < 80          # the title banner is dark
    assert _mean(margin) > 250         # the margin is blank paper
    assert image.getextrema()[0] < 50  # not a blank page


def test_pdf_rendering_fetches_nothing_the_html_names():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        fetcher = RefusingFetcher()
        pdf = pdf_from_html(f'<link rel="stylesheet" href="{url}/a.css"><img src="{url}/b.png">'
                            '<img src="file:///etc/hostname"><p>text</p>', fetcher)
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF-")
    assert hits == []
    assert sorted(fetcher.refused) == sorted([f"{url}/a.css", f"{url}/b.png", "file:///etc/hostname"])


def _mean(image) -> float:
    return float(ImageStat.Stat(image).mean[0])


def test_a_large_report_lists_the_first_outputs_counts_the_rest_and_keeps_every_issue():
    html = render_html(signed(), max_listed=1)
    outputs = html.split('<section id="outputs">')[1]
    assert outputs.count('<div class="output">') == 1
    assert "2 more outputs not listed here." in outputs
    assert PLATE in html.split('<section id="issues">')[1].split("</section>")[0]  # the third output's issue
    assert "not listed here" not in render_html(signed())


def test_a_host_without_weasyprints_system_libraries_is_told_so_and_still_renders_html(monkeypatch):
    """WeasyPrint loads the system's Pango when imported; a host without it must still serve
    Slate and the HTML report, and a PDF request must say what to install."""
    import sys

    from governance.errors import ConfigurationError
    from tests.provenance.report_sample import signed as signed_sample
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # what a failed import of it leaves
    assert "Clearance report" in render_html(signed_sample())
    with pytest.raises(ConfigurationError) as caught:
        render_pdf(signed_sample())
    assert "Pango" in caught.value.hint


def test_rendering_a_pdf_leaves_pillow_refusing_truncated_images():
    """WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES when imported; Slate's intake relies
    on truncated images being refused, in the same process as the API that renders PDFs."""
    from PIL import ImageFile

    from tests.provenance.report_sample import signed as signed_sample
    assert render_pdf(signed_sample()).startswith(b"%PDF")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
