"""``/productions/<p>/clearance``: the production's clearance report as a page, a window at a time.

A production can hold 50,000 outputs: judging every one takes seconds and its rendering is
megabytes, so the page judges one window of outputs (oldest first, ``PAGE`` at a time) with
the same code the report uses (``clearance_report.clearance_report(window=...)``) and pages
through the rest. The complete report, signed, is a download (``/clearance.json|html|pdf``,
the same ``clearance_report.signed_clearance_report`` the API and the CLI give); the page says
it takes time.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request

from ..errors import InvalidInput
from ..provenance import clearance_report as clearance
from ..provenance import report_render
from . import access
from .access import page
from .blueprint import bp

#: outputs the page judges and lists at once
PAGE = 50
_MEDIA = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise InvalidInput("the page number must be a whole number from 1", hint="open the report's first page")
    return int(raw)


@bp.route("/productions/<string:production>/clearance", methods=["GET"])
@page("producer", "legal", "auditor", "admin")
def production_clearance(production: str) -> Any:
    number = _page_number()
    report = clearance.clearance_report(production, by=access.principal(), window=((number - 1) * PAGE, PAGE))
    total = clearance.output_count(production)
    pages = max(1, -(-total // PAGE))
    return render_template("web/clearance.html", production=production, report=report.to_dict(), total=total,
                           number=number, pages=pages, first=(number - 1) * PAGE + 1, per_page=PAGE)


@bp.route("/productions/<string:production>/clearance.<string:fmt>", methods=["GET"])
@page("producer", "legal", "auditor", "admin")
def production_clearance_download(production: str, fmt: str) -> Any:
    """The complete signed report (every output), as the API gives it: a download, not a page."""
    if fmt not in _MEDIA:
        raise InvalidInput("the report downloads as json, html or pdf")
    signed = clearance.signed_clearance_report(current_app.config["SLATE_SETTINGS"], production,
                                               by=access.principal())
    body: Any = signed.canonical
    if fmt == "html":
        body = report_render.render_html(signed.data)
    elif fmt == "pdf":
        body = report_render.render_pdf(signed.data)
    response = Response(body, mimetype=_MEDIA[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="clearance-{production}.{fmt}"'
    return response
