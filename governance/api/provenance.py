"""``/api/v1/provenance``: search signed outputs, an output's lineage (JSON or SVG), and the
dry run of a revocation's impact. Thin: parses, calls ``query``/``lineage``/``impact``."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g
from marshmallow import RAISE, Schema, fields, validate

from ..canonical import json_default
from ..errors import InvalidInput
from ..provenance import impact, lineage, query, svg
from . import schemas as s
from .access import READ_REGISTRY, admits
from .blueprint import SlateBlueprint as Blueprint
from .openapi import file_response

blp = Blueprint("provenance", __name__, url_prefix="/api/v1/provenance",
                description="Provenance: search outputs, lineage, revocation impact")

class SearchQuery(Schema):
    asset = fields.String(load_default=None, validate=validate.Length(min=1, max=300),
                          metadata={"description": "SHA-256 (or 8+ hex prefix), id or title (any letter case): "
                                                   "used as a reference, or in the model's training set"})
    person = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                           metadata={"description": "name (any letter case) or id: depicted, or in a reference "
                                                    "image; a name several records share answers 422 with "
                                                    "errors.choices"})
    licence = fields.String(load_default=None, validate=validate.Length(min=1, max=120),
                            metadata={"description": "ref: of a reference image, or in the model's training set"})
    consent = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,12}$"))
    model = fields.String(load_default=None, validate=validate.Length(min=1, max=300))
    training_set = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    production = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    approver = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    outcome = fields.String(load_default=None, validate=validate.OneOf(query.OUTCOMES))
    use = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                        metadata={"description": "the request's use (previs, final_frame, ...)"})
    since = fields.String(load_default=None, validate=validate.Length(min=4, max=40),
                          metadata={"description": "signed at or after (ISO 8601; a date means midnight UTC)"})
    until = fields.String(load_default=None, validate=validate.Length(min=4, max=40),
                          metadata={"description": "signed before (ISO 8601)"})
    limit = fields.Integer(load_default=query.DEFAULT_LIMIT, validate=validate.Range(min=1, max=query.MAX_LIMIT))
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                           metadata={"description": "next_cursor of the previous page"})


class ImpactQuery(Schema):
    consent = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,12}$"))
    licence = fields.String(load_default=None, validate=validate.Length(min=1, max=120))


@blp.route("/outputs", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.arguments(SearchQuery, location="query", unknown=RAISE)
@blp.response(200, s.OutputPageOut)
def search_outputs(args: dict[str, Any]) -> Any:
    """Signed outputs matching every filter given, newest first; follow ``next_cursor`` for more."""
    return query.find_outputs(query.OutputQuery.from_text(args), g.principal).to_dict()


@blp.route("/outputs/<string:sha256>/lineage", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.response(200, s.LineageOut)
def output_lineage(sha256: str) -> Any:
    """What the output was made from and under, each record with its present standing."""
    return lineage.lineage(sha256, g.principal)


@blp.route("/outputs/<string:sha256>/lineage.svg", methods=["GET"])
@admits(*READ_REGISTRY)
@blp.doc(responses=file_response("image/svg+xml", "the lineage as a picture"))
def output_lineage_svg(sha256: str) -> Any:
    """The lineage as a picture."""
    picture = svg.lineage_svg(_jsonable(lineage.lineage(sha256, g.principal)))
    return Response(picture, mimetype="image/svg+xml")


@blp.route("/impact", methods=["GET"])
@admits("legal", "producer", "auditor", "admin")
@blp.arguments(ImpactQuery, location="query", unknown=RAISE)
@blp.response(200, s.ImpactOut)
def revocation_impact(args: dict[str, Any]) -> Any:
    """Dry run: what revoking this consent or taking this licence down touches. Changes nothing."""
    if bool(args["consent"]) == bool(args["licence"]):
        raise InvalidInput("give exactly one of consent or licence")
    result = (impact.consent_impact(args["consent"], g.principal) if args["consent"]
              else impact.licence_impact(args["licence"], g.principal))
    return result.to_dict()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=json_default))


blueprints = [blp]
