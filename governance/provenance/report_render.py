"""The clearance report as people read it: a standalone HTML document and its PDF.

Both render the *signed* report (``{"report": ..., "signature": ...}``) so the title page can
show who signed it and the SHA-256 of the report's canonical bytes: a reader can check the
PDF in hand against the signed JSON. The rendering adds nothing the JSON does not hold.

The HTML has no JavaScript and no external resources (its CSS is inline); every value is
escaped by the template. The PDF is made by WeasyPrint from that HTML with a URL fetcher
that refuses everything, so a value that somehow became markup cannot make the renderer
read a local file or reach the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import jinja2

from ..canonical import canonical_json, sha256_hex
from ..errors import ConfigurationError, InvalidInput

#: outputs a rendering lists in detail (12-18 ms of PDF layout each here, and pagination grows faster than
#: linearly past that); the rest are counted and left to
#: the signed JSON, which lists every one. Every output not in good standing is listed under issues.
MAX_LISTED = 1000

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                          undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)


def _weasyprint() -> Any:
    """WeasyPrint, imported when a PDF is asked for: it loads the system's Pango, and a host
    without it still serves Slate (and the JSON and HTML reports), answering a PDF request
    with a clear error instead of failing to start."""
    from PIL import ImageFile
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise ConfigurationError("PDF rendering is not available on this host: WeasyPrint cannot load "
                                 f"({type(exc).__name__})",
                                 hint="install the system's Pango (Debian: apt-get install libpango-1.0-0 "
                                      "libpangoft2-1.0-0), or ask for format=json or format=html") from None
    finally:
        # importing WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES; left on, every
        # truncated image an intake reads afterwards would decode silently instead of being refused
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
    return weasyprint


def RefusingFetcher() -> Any:  # noqa: N802 - used as the class it makes
    """WeasyPrint's fetcher, refusing every URL (``.refused`` lists what it was asked for)."""
    from weasyprint.urls import URLFetcher
    _weasyprint()

    class _Refusing(URLFetcher):  # type: ignore[misc]  # weasyprint ships no types; fetch() reads the base class
        def __init__(self) -> None:
            super().__init__(allowed_protocols=(), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
            self.refused.append(url[:200])
            raise ValueError("the clearance report renders without fetching anything")

    return _Refusing()


def report_sha256(signed: Mapping[str, Any]) -> str:
    """SHA-256 of the report's canonical JSON: what the signature covers."""
    return sha256_hex(canonical_json(_report(signed)))


def render_html(signed: Mapping[str, Any], *, max_listed: int = MAX_LISTED) -> str:
    """The signed report as one standalone HTML document, laid out for screen and print.

    A production's report can hold 100,000 outputs: the first ``max_listed`` are shown in
    detail and the page says how many more the signed JSON holds (issues are all shown)."""
    report = _report(signed)
    signature = signed.get("signature") or {}
    outputs = list(report.get("outputs") or [])
    return _ENV.get_template("clearance_report.html").render(
        report=report, signature=signature, report_sha256=report_sha256(signed),
        outputs=outputs[:max_listed], not_listed=max(0, len(outputs) - max_listed),
        credits=report.get("credits") or [],
        issues=report.get("issues") or [], disclosure=report.get("disclosure") or {},
        totals=report.get("totals") or {}, scope=report.get("scope") or {},
        production=report.get("production") or {})


def render_pdf(signed: Mapping[str, Any], *, max_listed: int = MAX_LISTED) -> bytes:
    """The HTML rendering as a PDF (A4), made without fetching any resource."""
    return pdf_from_html(render_html(signed, max_listed=max_listed))


def pdf_from_html(html: str, fetcher: Any = None) -> bytes:
    """PDF bytes of ``html``; nothing it names is fetched (``fetcher.refused`` lists what it asked for)."""
    document = _weasyprint().HTML(string=html, base_url=None, url_fetcher=fetcher or RefusingFetcher())
    pdf: bytes = document.write_pdf()
    return pdf


def _report(signed: Mapping[str, Any]) -> Mapping[str, Any]:
    report = signed.get("report") if isinstance(signed, Mapping) else None
    if not isinstance(report, Mapping) or not str(report.get("format", "")).startswith("slate-clearance-report/"):
        raise InvalidInput("this is not a signed clearance report",
                           hint="render what `slate report clearance --format json` writes")
    return report


__all__ = ["MAX_LISTED", "RefusingFetcher", "pdf_from_html", "render_html", "render_pdf", "report_sha256"]
