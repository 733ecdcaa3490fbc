"""``/productions/<p>/clearance``: the production's clearance report as a page.

The page is the report's HTML rendering (``provenance.report_render``), made from the same
signed report the API and the CLI give (``clearance_report.signed_clearance_report``), so what
a producer reads is what the signature covers.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app

from ..provenance import clearance_report as clearance
from ..provenance import report_render
from . import access
from .access import page
from .blueprint import bp


@bp.route("/productions/<string:production>/clearance", methods=["GET"])
@page("producer", "legal", "auditor", "admin")
def production_clearance(production: str) -> Any:
    signed = clearance.signed_clearance_report(current_app.config["SLATE_SETTINGS"], production,
                                               by=access.principal())
    return Response(report_render.render_html(signed.data), mimetype="text/html")
