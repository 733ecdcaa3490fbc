"""``/api/v1/base-models``: the base models studio models are trained from. Legal registers
them and sets their standing; everyone who may read the registry (and the generator, which
loads their weights) may read them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..registry import base_models
from ..registry.tables import BASE_STATUSES
from . import schemas as s
from .access import READ_REGISTRY, RIGHTS, admits, principal
from .blueprint import SlateBlueprint as Blueprint

blp = Blueprint("bases", __name__, url_prefix="/api/v1", description="Base models and their standing")


class BaseModelIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    weights_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    licence = fields.String(required=True, validate=validate.Length(min=1, max=300))
    licence_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    training_data = fields.String(required=True, validate=validate.Length(min=1, max=20_000),
                                  metadata={"description": "the maker's statement of what the base was trained on"})
    status = fields.String(load_default="restricted", validate=validate.OneOf(BASE_STATUSES[:2]))
    path = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class BaseModelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    weights_hash = fields.String()
    licence = fields.String()
    licence_url = fields.String(allow_none=True)
    training_data = fields.String()
    status = fields.String(metadata={"description": "approved | restricted (concept and previs only) | retired"})
    status_reason = fields.String(allow_none=True)
    status_changed_at = s.Timestamp()
    path = fields.String(allow_none=True)
    created_at = s.Timestamp()
    registered_by = fields.String(allow_none=True)


class BaseStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(BASE_STATUSES))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


@blp.route("/base-models", methods=["GET"])
@admits(*READ_REGISTRY, "generator")
@blp.arguments(s.Page, location="query")
@blp.response(200, BaseModelOut(many=True))
def list_bases(page: dict[str, int]) -> Any:
    return base_models.list_bases()[page["offset"]: page["offset"] + page["limit"]]


@blp.route("/base-models", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(BaseModelIn)
@blp.response(201, BaseModelOut)
def register_base(body: dict[str, Any]) -> Any:
    return base_models.register_base(body["name"], body["weights_hash"], licence=body["licence"],
                                     training_data=body["training_data"], licence_url=body["licence_url"],
                                     status=body["status"], path=body["path"], by=principal())


@blp.route("/base-models/<path:ref>/status", methods=["POST"])
@admits(*RIGHTS)
@blp.arguments(BaseStatusIn)
@blp.response(200, BaseModelOut)
def set_base_status(body: dict[str, Any], ref: str) -> Any:
    return base_models.set_base_status(ref, body["status"], body["reason"], by=principal())


@blp.route("/base-models/<path:ref>", methods=["GET"])
@admits(*READ_REGISTRY, "generator")
@blp.response(200, BaseModelOut)
def show_base(ref: str) -> Any:
    return base_models.show_base(ref)


blueprints = [blp]
