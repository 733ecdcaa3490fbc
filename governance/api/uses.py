"""Use caps, compensation, budgets and payables over HTTP (``policy.usage``).

Legal (and admins) set a consent's or licence's cap and compensation and a production's
GPU-seconds budget and blackouts: never the producers those limits bind. A production's
use events (what payroll and royalties owe) are read by its producers, legal, auditors and
admins, as JSON or as CSV.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..policy import usage
from .access import admits, principal
from .blueprint import SlateBlueprint as Blueprint
from .flow import attachment

blp = Blueprint("uses", __name__, url_prefix="/api/v1", description="Use caps, compensation, budgets, payables")

TERMS = ("legal", "admin")
READERS = ("producer", "legal", "auditor", "admin")


class CompensationIn(Schema):
    amount = fields.String(required=True, validate=validate.Length(min=1, max=40))
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    per = fields.String(load_default=usage.PER_OUTPUT, validate=validate.OneOf([usage.PER_OUTPUT]))


class TermsIn(Schema):
    max_uses = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=0, max=1_000_000_000))
    compensation = fields.Nested(CompensationIn, load_default=None, allow_none=True)


class TermsOut(Schema):
    kind = fields.String()
    id = fields.Integer()
    version = fields.Integer()
    max_uses = fields.Integer(allow_none=True)
    compensation = fields.Dict(allow_none=True)
    uses_so_far = fields.Integer()


class WindowIn(Schema):
    start = fields.Date(required=True, data_key="from")
    until = fields.Date(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class BudgetIn(Schema):
    gpu_seconds_budget = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1e11))
    blackouts = fields.List(fields.Nested(WindowIn), load_default=list, validate=validate.Length(max=200))


class BudgetOut(Schema):
    production = fields.String()
    gpu_seconds_budget = fields.Float(allow_none=True)
    gpu_seconds_used = fields.Float()
    blackouts = fields.List(fields.Dict())


class UsesQuery(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class UseOut(Schema):
    created_at = fields.String()
    production = fields.String()
    output_sha256 = fields.String()
    request_id = fields.Integer()
    decision_id = fields.Integer()
    kind = fields.String()
    record_id = fields.Integer()
    record_version = fields.Integer(allow_none=True)
    record_ref = fields.String()
    payee = fields.String()
    amount = fields.String()
    currency = fields.String()
    per = fields.String()


def _terms(kind: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    return usage.set_terms(kind, ref, max_uses=body["max_uses"], compensation=body["compensation"], by=principal())


@blp.route("/consents/<string:consent_id>/terms", methods=["PUT"])
@admits(*TERMS)
@blp.arguments(TermsIn)
@blp.response(200, TermsOut)
def consent_terms(body: dict[str, Any], consent_id: str) -> Any:
    """Set a consent's use cap (null: none) and compensation per output (null: nothing owed)."""
    return _terms(usage.CONSENT, consent_id, body)


@blp.route("/licences/<path:ref>/terms", methods=["PUT"])
@admits(*TERMS)
@blp.arguments(TermsIn)
@blp.response(200, TermsOut)
def licence_terms(body: dict[str, Any], ref: str) -> Any:
    """Set a licence's use cap (reference uses) and royalty per output."""
    return _terms(usage.LICENCE, ref, body)


@blp.route("/productions/<string:production>/budget", methods=["PUT"])
@admits(*TERMS)
@blp.arguments(BudgetIn)
@blp.response(200, BudgetOut)
def set_budget(body: dict[str, Any], production: str) -> Any:
    """Set a production's GPU-seconds budget and its blackout windows (no generation)."""
    windows = [{"from": w["start"].isoformat(), "until": w["until"].isoformat(), "reason": w["reason"]}
               for w in body["blackouts"]]
    return usage.set_budget(production, gpu_seconds=body["gpu_seconds_budget"], blackouts=windows, by=principal())


@blp.route("/productions/<string:production>/uses", methods=["GET"])
@admits(*READERS)
@blp.arguments(UsesQuery, location="query")
@blp.response(200, UseOut(many=True))
def uses(query: dict[str, str], production: str) -> Any:
    """The production's use events (one per signed output and compensated consent or licence);
    ``?format=csv`` for payroll and royalties (stable columns, injection-safe cells)."""
    rows = usage.uses_report(production, by=principal())
    if query["format"] == "csv":
        return attachment(usage.to_csv(rows), "text/csv", f"uses-{production}.csv")
    return [r.to_dict() for r in rows]



blueprints = [blp]
