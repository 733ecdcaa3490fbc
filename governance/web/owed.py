"""``/productions/<p>/credits``: every credit line a production's signed outputs owe, with how
many outputs owe each and a link to them in the provenance search; and the same as CSV.

The lines are ``provenance.credit_lines.credits_owed`` (what the API answers), read from the
production's maintained tally, so the page costs the same at a million outputs as at ten.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from ..api.flow import attachment
from ..provenance import credit_lines
from ..spreadsheet import csv_text
from . import access
from .access import page
from .blueprint import bp

READERS = ("producer", "legal", "auditor", "admin")
CSV_COLUMNS = ("kind", "line", "owed_to", "right", "outputs")


@bp.route("/productions/<string:production>/credits", methods=["GET"])
@page(*READERS)
def credits_owed(production: str) -> Any:
    owed = credit_lines.credits_owed(production, access.principal())
    return render_template("web/credits_owed.html", production=production, owed=[c.to_dict() for c in owed])


@bp.route("/productions/<string:production>/credits.csv", methods=["GET"])
@page(*READERS)
def credits_owed_csv(production: str) -> Any:
    owed = credit_lines.credits_owed(production, access.principal())
    rows = ([c.to_dict()[k] for k in CSV_COLUMNS] for c in owed)
    return attachment(csv_text(CSV_COLUMNS, rows), "text/csv", f"credits-{production}.csv")
