"""``GET /api/v1/productions/<p>/clearance``: the production's signed clearance report;
``GET /api/v1/productions/<p>/credits``: the credit lines its outputs owe.

Thin: parses, calls ``provenance.clearance_report.signed_clearance_report`` (the path the CLI
and the page share) and answers its canonical JSON, or P2's HTML or PDF rendering of it.
Producers of the production, legal, auditors and admins may read it; a producer of another
production is told it does not exist, as for a production that does not.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g
from marshmallow import RAISE, Schema, fields, validate

from ..provenance import clearance_report as clearance
from ..provenance import credit_lines, report_render
from .access import admits
from .blueprint import SlateBlueprint as Blueprint
from .flow import attachment

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Documents for the production")

#: who may ask; ``clearance_report.may_read`` narrows producers to their own productions
READERS = ("producer", "legal", "auditor", "admin")
_MEDIA = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}


class ClearanceQuery(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(tuple(_MEDIA)),
                           metadata={"description": "json (canonical, signed: what verifies), html or pdf"})


@blp.route("/productions/<string:production>/clearance", methods=["GET"])
@admits(*READERS)
@blp.arguments(ClearanceQuery, location="query", unknown=RAISE)
@blp.doc(responses={"200": {"description": "the signed clearance report",
                            "content": {media: {"schema": {"type": "string"}} for media in _MEDIA.values()}}})
def production_clearance(args: dict[str, Any], production: str) -> Any:
    """The production's clearance report, signed by Slate: every AI output with its rights,
    approvers and review; the credits roll; issues and what to do; the EU AI Act disclosure."""
    signed = clearance.signed_clearance_report(current_app.config["SLATE_SETTINGS"], production, by=g.principal)
    fmt = args["format"]
    if fmt == "html":
        return Response(report_render.render_html(signed.data), mimetype=_MEDIA[fmt])
    if fmt == "pdf":
        return attachment(report_render.render_pdf(signed.data), _MEDIA[fmt], f"clearance-{production}.pdf")
    return Response(signed.canonical, mimetype=_MEDIA[fmt])


class CreditOwedOut(Schema):
    kind = fields.String(required=True, metadata={"description": "performer | licensor"})
    line = fields.String(required=True, metadata={"description": "the credit line, in the right's own words"})
    owed_to = fields.String(required=True, metadata={"description": "the performer or the licensor"})
    right = fields.String(required=True, metadata={"description": "'consent N' or 'licence REF'"})
    search = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "the provenance filter that finds the outputs owing it"})
    outputs = fields.Integer(required=True, metadata={"description": "signed outputs of the production owing it"})


class CreditsOwedOut(Schema):
    production = fields.String(required=True)
    credits = fields.List(fields.Nested(CreditOwedOut), required=True)


@blp.route("/productions/<string:production>/credits", methods=["GET"])
@admits(*READERS)
@blp.response(200, CreditsOwedOut)
def production_credits(production: str) -> Any:
    """Every credit line the production's signed outputs owe (performers', licensors'), with
    how many outputs owe each: the page's and the CSV's source."""
    owed = credit_lines.credits_owed(production, g.principal)
    return {"production": production, "credits": [c.to_dict() for c in owed]}


blueprints = [blp]
