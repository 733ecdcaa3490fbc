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
    productions = fields.List(fields.String(validate=validate.Length(min=1, max=120)), load_default=list,
                              validate=validate.Length(max=50),
                              metadata={"description": "productions the person takes part in; "
                                                       "a producer names one or more of their own"})


class PersonOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    is_minor = fields.Boolean()
    guardian = fields.String(allow_none=True)
    productions = fields.List(fields.String())
    created_at = fields.DateTime()


class ProductionRefIn(Schema):
    production = fields.String(required=True, validate=validate.Length(min=1, max=120))


class CommentIn(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class ConsentIn(Schema):
    person = fields.String(required=True)
    uses = fields.List(fields.String(validate=validate.OneOf(vocab.CONSENT_USES)), required=True,
                       validate=validate.Length(min=1))
    productions = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=200))
    territories = Territories
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    document_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                                    metadata={"description": "sha256 of a document kept with POST /consent-documents"})
    guardian_signed = fields.Boolean(load_default=False)
    guardian_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    guardian_relationship = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                                          metadata={"description": "a minor's consent: e.g. mother, legal guardian"})


class ConsentQuery(Schema):
    person = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    status = fields.String(load_default=None, validate=validate.OneOf(["pending", "confirmed", "revoked"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class SignerOut(Schema):
    """A signature of a digitally signed PDF, as validated when the document was kept."""

    kind = fields.String(metadata={"description": "signature or timestamp"})
    field_name = fields.String()
    common_name = fields.String()
    subject = fields.String()
    issuer = fields.String()
    serial = fields.String()
    certificate_sha256 = fields.String()
    trusted = fields.Boolean()
    intact = fields.Boolean()
    signing_time = fields.String(allow_none=True)
    signing_time_source = fields.String(allow_none=True, metadata={"description": "timestamp or claimed"})
    covers_whole_file = fields.Boolean()


class ConsentDocumentOut(Schema):
    sha256 = fields.String()
    media_type = fields.String()
    size_bytes = fields.Integer()
    signed = fields.Boolean()
    signers = fields.List(fields.Nested(SignerOut), metadata={"description": "who signed a digitally signed PDF"})
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()


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
    guardian_relationship = fields.String(allow_none=True)
    document_sha256 = fields.String()
    document_stored = fields.Boolean()
    granted_at = fields.DateTime()
    recorded_by = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending (awaiting a second legal user), confirmed or revoked"})
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
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
    licence = fields.String(load_default=None, allow_none=True,
                            metadata={"description": "legal only: the licence the asset is held under"})
    people = fields.List(fields.String(), load_default=list)
    production = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=120),
                               metadata={"description": "the production registering it (a producer's own); "
                                                        "none means the studio library (legal)"})


class AssetLicenceIn(Schema):
    licence = fields.String(required=True, validate=validate.Length(min=1, max=120))


class AssetPlaceIn(Schema):
    production = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=120))
    library = fields.Boolean(load_default=False, metadata={"description": "the studio library: every production"})


class AssetOut(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    media_type = fields.String()
    title = fields.String()
    source = fields.String()
    size_bytes = fields.Integer()
    licence = fields.String(allow_none=True)
    production = fields.String(allow_none=True)
    library = fields.Boolean(metadata={"description": "in the studio library, seen by every production"})
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
    members_not_shown = fields.Integer(metadata={"description": "members outside the caller's productions"})


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
