"""marshmallow schemas shared by the API's blueprints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..registry import vocabulary as vocab


class Page(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


Territories = fields.List(fields.String(validate=validate.Length(min=2, max=2)), required=True,
                          validate=validate.Length(min=1, max=300))


class ProductionIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    title = fields.String(load_default="", validate=validate.Length(max=300))


class ProductionOut(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    created_at = fields.DateTime()


class PersonIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="performer", validate=validate.OneOf(vocab.PERSON_KINDS))
    is_minor = fields.Boolean(load_default=False)
    guardian = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class PersonOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    is_minor = fields.Boolean()
    guardian = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ConsentIn(Schema):
    person = fields.String(required=True)
    uses = fields.List(fields.String(validate=validate.OneOf(vocab.CONSENT_USES)), required=True,
                       validate=validate.Length(min=1))
    productions = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=200))
    territories = Territories
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    document_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    guardian_signed = fields.Boolean(load_default=False)
    guardian_name = fields.String(load_default=None, allow_none=True)


class ConsentOut(Schema):
    id = fields.Integer()
    person = fields.String()
    person_id = fields.Integer()
    uses = fields.List(fields.String())
    productions = fields.List(fields.String())
    territories = fields.List(fields.String())
    valid_from = fields.Date()
    valid_until = fields.Date()
    guardian_signed = fields.Boolean()
    guardian_name = fields.String(allow_none=True)
    document_sha256 = fields.String()
    granted_at = fields.DateTime()
    revoked = fields.Boolean()
    revoked_at = fields.DateTime(allow_none=True)
    revoked_reason = fields.String(allow_none=True)
    version = fields.Integer()


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LicenceIn(Schema):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=120))
    licensor = fields.String(required=True, validate=validate.Length(min=1, max=300))
    grants = fields.List(fields.String(validate=validate.OneOf(vocab.LICENCE_GRANTS)), required=True,
                         validate=validate.Length(min=1))
    territories = Territories
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    attribution_required = fields.Boolean(load_default=False)
    credit_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class LicenceOut(Schema):
    id = fields.Integer()
    ref = fields.String()
    licensor = fields.String()
    grants = fields.List(fields.String())
    territories = fields.List(fields.String())
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    attribution_required = fields.Boolean()
    credit_text = fields.String(allow_none=True)
    takedown = fields.Boolean()
    takedown_at = fields.DateTime(allow_none=True)
    takedown_reason = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()


class AssetUpload(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    source = fields.String(load_default="", validate=validate.Length(max=500))
    licence = fields.String(load_default=None, allow_none=True)
    people = fields.List(fields.String(), load_default=list)


class AssetOut(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    media_type = fields.String()
    title = fields.String()
    source = fields.String()
    size_bytes = fields.Integer()
    licence = fields.String(allow_none=True)
    people = fields.List(fields.String())
    created_at = fields.DateTime()
    created = fields.Boolean()


class MemberIn(Schema):
    asset = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{8,64}$"))
    licence = fields.String(load_default=None, allow_none=True)


class TrainingSetIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    members = fields.List(fields.Nested(MemberIn), required=True, validate=validate.Length(min=1, max=1_000_000))


class TrainingSetOut(Schema):
    id = fields.Integer()
    name = fields.String()
    merkle_root = fields.String()
    size = fields.Integer()
    description = fields.String()
    created_at = fields.DateTime()
    members = fields.List(fields.Dict())


class ModelIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.String(required=True, validate=validate.Length(min=1, max=60))
    weights_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    training_set = fields.String(load_default=None, allow_none=True)
    base_model = fields.String(load_default=None, allow_none=True)
    path = fields.String(load_default=None, allow_none=True)


class ModelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    version = fields.String()
    ref = fields.String()
    weights_hash = fields.String()
    base_model = fields.String(allow_none=True)
    training_set = fields.String(allow_none=True)
    training_set_root = fields.String(allow_none=True)
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    status_changed_at = fields.DateTime()
    path = fields.String(allow_none=True)
    needs_retirement_review = fields.Boolean()
    created_at = fields.DateTime()


class ModelStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["approved", "retired"]))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
