"""marshmallow schemas shared by the API's blueprints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable, Sequence

from flask_smorest.fields import Upload as _Upload
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from ..canonical import json_default
from ..errors import InvalidInput
from ..jobs.statuses import RequestStatus, Verdict
from ..lifecycle import claims, params
from ..registry import performer_terms
from ..registry import vocabulary as vocab


class Timestamp(fields.DateTime):
    """Every time Slate answers with: RFC 3339 in UTC, ``2026-12-01T14:21:52.123456Z``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(json_default(value))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return super()._deserialize(value, attr, data, **kwargs)


class Upload(_Upload):  # type: ignore[misc]  # flask-smorest ships no types
    """A multipart file part; a plain text field of the same name is refused (422), not read."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise ValidationError("Send this as a file part of a multipart/form-data body.")
        return value


class Attributes(fields.Dict):
    """A record's catalogue attributes: an object of name to value, each checked against the
    published catalogue by the registry (an undeclared name or a wrong type is a 422 naming
    the field). In a multipart body, the same object as JSON text."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "catalogue attributes: name -> value (string, number, "
                                                      "bool, YYYY-MM-DD date or list of strings); see "
                                                      "GET /api/v1/catalogue"})
        super().__init__(keys=fields.String(validate=validate.Length(min=1, max=40)),
                         values=fields.Raw(allow_none=True), validate=validate.Length(max=200), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("Send the attributes as a JSON object.") from None
        return super()._deserialize(value, attr, data, **kwargs)


class InVocabulary(validate.Validator):
    """One of a closed list the published catalogue may extend, read when a request is checked."""

    def __init__(self, words: Callable[[], Sequence[str]]) -> None:
        self.words = words

    def __call__(self, value: Any) -> Any:
        allowed = self.words()
        if value not in allowed:
            raise ValidationError(f"Must be one of: {', '.join(allowed)}.")
        return value


def _word(words: Callable[[], Sequence[str]], description: str) -> fields.String:
    """A word of one of the registry's closed lists, as the published catalogue extends it."""
    return fields.String(validate=InVocabulary(words), metadata={"description": description})


class Territory(fields.String):
    """An ISO 3166-1 alpha-2 territory (or WW, worldwide), checked against pycountry."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return vocab.territory(text)
        except InvalidInput as exc:  # in the schema's own error format
            raise ValidationError(exc.message) from None


def _multiple_of(n: int) -> validate.Validator:
    def check(value: int) -> None:
        if value % n:
            raise ValidationError(f"must be a multiple of {n}")
    return check  # type: ignore[return-value]


class Page(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


Territories = fields.List(Territory(), required=True, validate=validate.Length(min=1, max=300))


class ProductionIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    title = fields.String(load_default="", validate=validate.Length(max=300))
    attributes = Attributes(load_default=dict)


class ProductionOut(Schema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    created_at = Timestamp()
    attributes = fields.Dict()


class PersonIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="performer", validate=InVocabulary(vocab.person_kinds),
                         metadata={"description": f"one of {', '.join(vocab.PERSON_KINDS)}, or a kind the "
                                                  "published catalogue adds (person.kinds)"})
    is_minor = fields.Boolean(load_default=False)
    guardian = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    productions = fields.List(fields.String(validate=validate.Length(min=1, max=120)), load_default=list,
                              validate=validate.Length(max=50),
                              metadata={"description": "productions the person takes part in; "
                                                       "a producer names one or more of their own"})
    attributes = Attributes(load_default=dict)


class PersonOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    is_minor = fields.Boolean()
    guardian = fields.String(allow_none=True)
    productions = fields.List(fields.String())
    created_at = Timestamp()
    attributes = fields.Dict()
    deceased_on = fields.Date(allow_none=True)


class ProductionRefIn(Schema):
    production = fields.String(required=True, validate=validate.Length(min=1, max=120))


class CommentIn(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class ConsentIn(Schema):
    person = fields.String(required=True)
    uses = fields.List(_word(vocab.consent_uses,
                             f"one of {', '.join(vocab.CONSENT_USES)}, or a use the published catalogue adds "
                             "(consent.uses)"), required=True, validate=validate.Length(min=1, max=50))
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
    attributes = Attributes(load_default=dict)
    credit_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300),
                                metadata={"description": "the performer's credit line, as their contract words it"})
    attribution_required = fields.Boolean(load_default=False,
                                          metadata={"description": "outputs must carry the credit line"})
    output_uses = fields.List(fields.String(validate=validate.OneOf(vocab.OUTPUT_USES)), load_default=None,
                              allow_none=True, validate=validate.Length(max=10),
                              metadata={"description": "the output uses the consent allows; null: every use"})
    replica_type = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(performer_terms.REPLICA_TYPES),
                                 metadata={"description": "the kind of digital replica the consent covers"})
    use_description = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Length(max=performer_terms.DESCRIPTION_MAX),
                                    metadata={"description": "the specific use consented to, in words; shown to "
                                                             "the approver, its SHA-256 in each decision"})
    notice_given_at = fields.DateTime(load_default=None, allow_none=True,
                                      metadata={"description": "when the performer was given notice (UTC)"})
    estate_consent = fields.Boolean(load_default=False,
                                    metadata={"description": "given by the estate of a deceased performer"})
    estate_representative = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DeathIn(Schema):
    deceased_on = fields.Date(required=True)


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
    recorded_at = Timestamp()


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
    granted_at = Timestamp()
    recorded_by = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending (awaiting a second legal user), confirmed or revoked"})
    confirmed_by = fields.String(allow_none=True)
    confirmed_at = Timestamp(allow_none=True)
    revoked = fields.Boolean()
    revoked_at = Timestamp(allow_none=True)
    revoked_reason = fields.String(allow_none=True)
    version = fields.Integer()
    attributes = fields.Dict()
    credit_text = fields.String(allow_none=True)
    attribution_required = fields.Boolean()
    replica_type = fields.String(allow_none=True)
    use_description = fields.String(allow_none=True)
    use_description_sha256 = fields.String(allow_none=True)
    notice_given_at = Timestamp(allow_none=True)
    estate_consent = fields.Boolean()
    estate_representative = fields.String(allow_none=True)
    output_uses = fields.List(fields.String(), allow_none=True, metadata={"description": "null: every use"})


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LicenceIn(Schema):
    ref = fields.String(required=True, validate=validate.Length(min=1, max=120))
    licensor = fields.String(required=True, validate=validate.Length(min=1, max=300))
    grants = fields.List(_word(vocab.licence_grants,
                               f"one of {', '.join(vocab.LICENCE_GRANTS)}, or a grant the published catalogue "
                               "adds (licence.grants)"), required=True, validate=validate.Length(min=1, max=50))
    territories = Territories
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    attribution_required = fields.Boolean(load_default=False)
    credit_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    attributes = Attributes(load_default=dict)


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
    takedown_at = Timestamp(allow_none=True)
    takedown_reason = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = Timestamp()
    attributes = fields.Dict()


class AssetQuery(Page):
    licence = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    person = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class DocumentUpload(Schema):
    file = Upload(required=True, metadata={"description": "the signed consent document: PDF, PNG or JPEG"})


class AssetUpload(Schema):
    file = Upload(required=True, metadata={"description": "the asset's bytes; the media type is its part's"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    source = fields.String(load_default="", validate=validate.Length(max=500))
    licence = fields.String(load_default=None, allow_none=True,
                            metadata={"description": "legal only: the licence the asset is held under"})
    people = fields.List(fields.String(), load_default=list)
    production = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=120),
                               metadata={"description": "the production registering it (a producer's own); "
                                                        "none means the studio library (legal)"})
    attributes = Attributes(load_default=dict)
    watchlist = fields.Boolean(load_default=False, metadata={
        "description": "legal only: a protected work outputs must not imitate (a producer gets 403)"})
    watchlist_note = fields.String(load_default="", validate=validate.Length(max=1000))


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
    created_at = Timestamp()
    attributes = fields.Dict()
    watchlist = fields.Boolean(metadata={"description": "a protected work outputs must not imitate"})
    fingerprint = fields.Dict(allow_none=True, metadata={
        "description": "status (indexed or skipped), reason when skipped, phash, version"})
    credentials = fields.Nested(lambda: AssetCredentialsOut(), allow_none=True, metadata={
        "description": "its C2PA/CAWG content credentials as registration read them (null: registered before "
                       "Slate read them)"})
    created = fields.Boolean()


class AssetCredentialsOut(Schema):
    state = fields.String(metadata={"description": "none | valid | invalid | unsupported | unreadable"})
    signer = fields.String(allow_none=True, metadata={"description": "the active manifest's claim signer"})
    signer_serial = fields.String(allow_none=True)
    active_manifest = fields.String(allow_none=True)
    failures = fields.List(fields.String(), metadata={"description": "c2pa's validation failure codes"})
    training_mining = fields.String(metadata={
        "description": "the owner's answer for AI training: allowed | notAllowed | constrained | none"})
    entries = fields.Dict(metadata={"description": "each training-and-mining entry, by assertion label"})


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
    created_at = Timestamp()
    members = fields.List(fields.Nested(lambda: MemberOut()))
    members_not_shown = fields.Integer(metadata={"description": "members outside the caller's productions"})


class MemberOut(Schema):
    asset = fields.String(metadata={"description": "SHA-256"})
    title = fields.String()
    licence = fields.String()


class ModelIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.String(required=True, validate=validate.Length(min=1, max=60))
    weights_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    training_set = fields.String(load_default=None, allow_none=True)
    base_model = fields.String(load_default=None, allow_none=True,
                               metadata={"description": "free text naming its base (display only)"})
    base = fields.String(load_default=None, allow_none=True,
                         metadata={"description": "the registered base model it was trained from"})
    path = fields.String(load_default=None, allow_none=True)


class ModelOut(Schema):
    id = fields.Integer()
    name = fields.String()
    version = fields.String()
    ref = fields.String()
    weights_hash = fields.String()
    base_model = fields.String(allow_none=True)
    base = fields.String(allow_none=True, metadata={"description": "the registered base model, if linked"})
    training_set = fields.String(allow_none=True)
    training_set_root = fields.String(allow_none=True)
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    status_changed_at = Timestamp()
    path = fields.String(allow_none=True)
    needs_retirement_review = fields.Boolean()
    created_at = Timestamp()
    attested = fields.Boolean(metadata={"description": "registered from a training run Slate checked and "
                                                       "countersigned; unattested models serve no release use"})
    training_run_id = fields.Integer(allow_none=True)


class ModelCardOut(Schema):
    """A model's card (``provenance.model_card``): its sections as that module states them."""

    model = fields.Dict()
    base = fields.Dict()
    training_set = fields.Dict(allow_none=True)
    licences = fields.List(fields.Dict())
    licences_not_shown = fields.Integer()
    credits = fields.List(fields.String())
    clearance = fields.Dict(allow_none=True)
    attestation = fields.Dict(allow_none=True)
    evaluation = fields.List(fields.Dict())
    intended_uses = fields.List(fields.String())
    refused_uses = fields.List(fields.Dict())


class ModelStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["approved", "retired"]))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


# ---------------------------------------------------------------- the request lifecycle

class ParamsIn(Schema):
    """Generation parameters; their limits are ``governance.lifecycle.params``'s, the generator's own."""

    seed = fields.Integer(load_default=0, validate=validate.Range(min=0, max=params.SEED_MAX))
    steps = fields.Integer(load_default=25, validate=validate.Range(min=params.STEPS[0], max=params.STEPS[1]))
    guidance = fields.Float(load_default=7.5, validate=validate.Range(min=params.GUIDANCE[0], max=params.GUIDANCE[1]))
    width = fields.Integer(load_default=128, validate=[validate.Range(min=params.SIZE[0], max=params.SIZE[1]),
                                                       _multiple_of(params.SIZE_MULTIPLE)])
    height = fields.Integer(load_default=128, validate=[validate.Range(min=params.SIZE[0], max=params.SIZE[1]),
                                                        _multiple_of(params.SIZE_MULTIPLE)])
    scheduler = fields.String(load_default=params.DEFAULT_SCHEDULER, validate=validate.OneOf(params.SCHEDULERS))


class ParamsOut(Schema):
    seed = fields.Integer()
    steps = fields.Integer()
    guidance = fields.Float()
    width = fields.Integer()
    height = fields.Integer()
    scheduler = fields.String()


class RequestIn(Schema):
    production = fields.String(required=True, validate=validate.Length(min=1, max=120))
    use = fields.String(required=True, validate=validate.OneOf(vocab.OUTPUT_USES))
    territory = Territory(required=True)
    model = fields.String(required=True, validate=validate.Length(min=1, max=300))
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=params.MAX_PROMPT_CHARS),
                           metadata={"description": "confidential: stored, never returned; outputs carry its hash"})
    references = fields.List(fields.String(validate=validate.Length(min=8, max=64)), load_default=list,
                             validate=validate.Length(max=50))
    people = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                         validate=validate.Length(max=50))
    params = fields.Nested(ParamsIn, load_default=lambda: ParamsIn().load({}))
    resubmission_of = fields.Integer(load_default=None, allow_none=True, strict=True,
                                     validate=validate.Range(min=1, max=2**62), metadata={
                                         "description": "your own denied or rejected request this one edits"})


class RequestRecordOut(Schema):
    id = fields.Integer()
    requester = fields.String()
    production = fields.String()
    use = fields.String()
    territory = fields.String()
    date = fields.Date()
    model = fields.String(metadata={"description": "NAME:VERSION"})
    references = fields.List(fields.String(), metadata={"description": "SHA-256 of each reference asset"})
    people = fields.List(fields.String())
    prompt_sha256 = fields.String(metadata={"description": "the prompt itself is never returned"})
    created_at = Timestamp()


class EvidenceOut(Schema):
    path = fields.String(metadata={"description": "the fact compared, e.g. licence.grants"})
    operator = fields.String()
    found = fields.Raw(allow_none=True, metadata={"description": "the value found (any JSON value)"})
    required = fields.Raw(allow_none=True, metadata={"description": "the value required (any JSON value)"})
    required_from = fields.String(metadata={"description": "the fact the required value was read from"})
    result = fields.Boolean()
    item = fields.String(metadata={"description": "which item of a quantified collection (every, any, none, "
                                                  "count) this comparison is about, e.g. person:NAME"})


class ApproversOut(Schema):
    roles = fields.List(fields.String(), metadata={"description": "any of these roles"})
    count = fields.Integer(metadata={"description": "distinct people needed"})
    from_production = fields.Boolean(metadata={"description": "a member of the request's production"})
    department = fields.String(allow_none=True, metadata={"description": "the approver's department"})
    not_requester_department = fields.Boolean(metadata={"description": "not from the requester's department"})


class FindingOut(Schema):
    rule = fields.String()
    type = fields.String(metadata={"description": "requirement, prohibition or approval"})
    title = fields.String()
    subject = fields.String(metadata={"description": "request, asset:SHA256 or person:NAME"})
    evidence = fields.List(fields.Nested(EvidenceOut))
    approvers = fields.Nested(ApproversOut, metadata={
        "description": "an approval rule's requirement of who signs off (absent on decisions from before: "
                       "one user with the approver role)"})


class DutyOut(Schema):
    rule = fields.String()
    action = fields.String()
    title = fields.String()
    subject = fields.String()
    text = fields.String(allow_none=True)


class PolicyRefOut(Schema):
    uid = fields.String()
    version = fields.Integer()
    sha256 = fields.String()


class RecordRefOut(Schema):
    id = fields.String()
    version = fields.Raw(allow_none=True, metadata={
        "description": "a consent's or licence's version number, or a model's version label"})


class RecordsOut(Schema):
    consents = fields.List(fields.Nested(RecordRefOut))
    licences = fields.List(fields.Nested(RecordRefOut))
    models = fields.List(fields.Nested(RecordRefOut))


class InputsOut(Schema):
    digest = fields.String(metadata={"description": "SHA-256 naming exactly the facts evaluated, "
                                                    "computed under digest_scheme"})
    digest_scheme = fields.Integer(metadata={"description": "2: SHA-256 over the SHA-256 of each part of the "
                                                            "facts (governance/policy/inputs.py); 1 (decisions "
                                                            "from before): SHA-256 of the canonical facts"})
    records = fields.Nested(RecordsOut)


class DecisionOut(Schema):
    id = fields.Integer()
    request = fields.Integer()
    decision = fields.String(metadata={"description": "allow, deny or needs_approval"})
    policy = fields.Nested(PolicyRefOut)
    violations = fields.List(fields.Nested(FindingOut))
    approvals = fields.List(fields.Nested(FindingOut))
    duties = fields.List(fields.Nested(DutyOut))
    credits = fields.List(fields.String())
    inputs = fields.Nested(InputsOut)
    created_at = Timestamp()


class ApprovalOut(Schema):
    approver = fields.String()
    verdict = fields.String(metadata={"description": "approved (a sign-off) or rejected"})
    comment = fields.String()
    at = Timestamp()
    rules = fields.List(fields.String(), metadata={
        "description": "the approval rules this sign-off satisfied (none recorded before sign-offs)"})


class RequirementStandingOut(Schema):
    rules = fields.List(fields.String(), metadata={"description": "approval rules sharing this requirement"})
    approvers = fields.Nested(ApproversOut)
    filled_by = fields.List(fields.String(), metadata={"description": "who fills its slots"})
    outstanding = fields.Integer(metadata={"description": "sign-offs still needed"})
    met = fields.Boolean()
    needed = fields.String(metadata={"description": "who may sign it off, in words"})


class SignOffStandingOut(Schema):
    met = fields.Boolean()
    requirements = fields.List(fields.Nested(RequirementStandingOut))
    outstanding = fields.List(fields.String(), metadata={
        "description": "what is still needed, e.g. 'needs 1 more sign-off from legal, a member of harbour-lights'"})


ENVIRONMENT_DESCRIPTION = (
    "What affects pixels, as the worker reported it: device (type, name, capability, cuda, "
    "cudnn or machine, processor), dtype, torch_threads, batch_size, python, libraries, "
    "deterministic_algorithms, options, seed, steps, guidance, size, scheduler, model_identity. "
    "Kept as reported: a newer worker's extra keys are answered too.")


class JobOut(Schema):
    id = fields.String()
    request = fields.Integer()
    decision = fields.Integer()
    status = fields.String(metadata={"description": "queued, running, succeeded, failed or blocked"})
    params = fields.Nested(ParamsOut)
    attempts = fields.Integer()
    failure_reason = fields.String(allow_none=True)
    output_sha256 = fields.String(allow_none=True)
    worker = fields.String(allow_none=True)
    environment = fields.Dict(keys=fields.String(), values=fields.Raw(), allow_none=True,
                              metadata={"description": ENVIRONMENT_DESCRIPTION})
    created_at = Timestamp()
    updated_at = Timestamp()
    lease_expires_at = Timestamp(allow_none=True)


class ConsentedUseOut(Schema):
    person = fields.String()
    consent = fields.String()
    replica_type = fields.String(allow_none=True)
    use_description = fields.String(allow_none=True)
    use_description_sha256 = fields.String(allow_none=True)
    unchanged = fields.Boolean()


class RequestViewOut(Schema):
    request = fields.Nested(RequestRecordOut)
    decision = fields.Nested(DecisionOut, allow_none=True)
    approval = fields.Nested(ApprovalOut, allow_none=True, metadata={
        "description": "the answer that settled it: the rejection, or the sign-off that met the last requirement"})
    signoffs = fields.List(fields.Nested(ApprovalOut), metadata={"description": "every answer given, in order"})
    sign_off = fields.Nested(SignOffStandingOut, allow_none=True, metadata={
        "description": "while it awaits sign-offs: each requirement, who fills it, and what is outstanding"})
    job = fields.Nested(JobOut, allow_none=True)
    status = fields.String(metadata={"description": "where the request stands: " + ", ".join(RequestStatus)})
    consented_uses = fields.List(fields.Nested(ConsentedUseOut), metadata={
        "description": "while it awaits sign-offs: each performer's consented use in words, and whether the "
                       "words are those the decision was made on"})


class ListRequestsQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(list(RequestStatus)))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class ApprovalIn(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(list(Verdict)))
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class FailIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class LeaseIn(Schema):
    lease_s = fields.Integer(load_default=None, validate=validate.Range(
        min=1, max=int(claims.MAX_LEASE.total_seconds())), metadata={
        "description": f"seconds the claim holds the job (default {int(claims.LEASE.total_seconds())})"})


class ModelSpecOut(Schema):
    ref = fields.String()
    name = fields.String()
    version = fields.String()
    weights_hash = fields.String()
    path = fields.String(allow_none=True)
    attested = fields.Boolean()


class JobSpecOut(Schema):
    """The one answer that carries a prompt: to the worker holding the job's claim only."""

    job_id = fields.String()
    prompt = fields.String()
    params = fields.Nested(ParamsOut)
    model = fields.Nested(ModelSpecOut)
    worker = fields.String()
    attempt = fields.Integer()
    lease_expires_at = Timestamp(allow_none=True)
    lease_s = fields.Integer()


class LeaseOut(Schema):
    job_id = fields.String()
    lease_expires_at = Timestamp()
    lease_s = fields.Integer()


class SignForm(Schema):
    job_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    model_identity = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    environment = fields.String(load_default="{}", validate=validate.Length(max=20_000),
                                metadata={"description": "JSON: what affects pixels (threads, versions, ...)"})
    image = Upload(required=True, metadata={"description": "the PNG the generator made"})
    receipt = fields.String(required=True, validate=validate.Length(min=1, max=8000),
                            metadata={"description": "the worker's generation receipt for this image: JSON "
                                                     "{receipt, signature}, signed by its approved worker key"})
    gpu_seconds = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=86400),
                               metadata={"description": "the GPU time this image took, in seconds: counted "
                                                        "against its production's budget"})


class FileUpload(Schema):
    file = Upload(required=True, metadata={"description": "any image file"})


class OutputOut(Schema):
    sha256 = fields.String()
    media_type = fields.String()
    manifest_label = fields.String()
    cert_fingerprint = fields.String()
    job_id = fields.String()
    request_id = fields.String()
    decision_id = fields.String()
    model_ref = fields.String()
    signed_at = Timestamp()
    timestamped = fields.Boolean()
    in_good_standing = fields.Boolean()
    standing_reason = fields.String(allow_none=True)
    receipt_sha256 = fields.String(allow_none=True, metadata={
        "description": "SHA-256 of the worker's generation receipt the credential names (none before receipts)"})
    download = fields.String()


class OutputReviewOut(Schema):
    """The decision on a generated image before signing, with its evidence (never the image)."""

    id = fields.String()
    job_id = fields.String()
    request_id = fields.Integer()
    image_sha256 = fields.String(metadata={"description": "the generator's PNG the decision and any approval cover"})
    status = fields.String(metadata={"description": "allowed (signed at once), held (for a reviewer), approved "
                                                    "(signed), rejected or refused (quarantined, never signed), "
                                                    "purged"})
    outcome = fields.String(metadata={"description": "the policy's outcome on the image: allow, needs_approval, deny"})
    policy = fields.String()
    violations = fields.List(fields.Dict())
    approvals = fields.List(fields.Dict())
    facts = fields.Dict(metadata={"description": "what was measured: nearest registered work and its distance, "
                                                 "faces, style distance; no biometric data"})
    output_sha256 = fields.String(allow_none=True)
    signoffs = fields.List(fields.Dict(), metadata={"description": "approving sign-offs given so far, where the "
                                                                   "held rules ask for more than one person"})
    reviewer = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    reviewed_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    purge_after = Timestamp(allow_none=True)


class OutputReviewDecisionIn(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(["approved", "rejected"]))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class OutputReviewQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["allowed", "held", "approved", "rejected", "refused", "purged"]))


class CheckOut(Schema):
    status = fields.String(metadata={"description": "pass, fail or not_checked"})
    reasons = fields.List(fields.String())
    codes = fields.List(fields.String())


class ChecksOut(Schema):
    integrity = fields.Nested(CheckOut)
    trust = fields.Nested(CheckOut)
    issuance = fields.Nested(CheckOut)
    standing = fields.Nested(CheckOut)
    approval = fields.Nested(CheckOut, metadata={
        "description": "each approver's own signature (valid, revoked, missing or invalid), checked with the "
                       "studio identity CA"})


class ReproductionOut(Schema):
    output = fields.String(metadata={"description": "the output's SHA-256"})
    job_id = fields.String()
    worker = fields.String(allow_none=True, metadata={"description": "the worker that made the original image"})
    verdict = fields.String(metadata={"description": "reproduced (identical pixels), close (mean absolute "
                                                     "difference at most close_at_most) or differs"})
    distance = fields.Float(allow_none=True, metadata={"description": "mean absolute difference per 8-bit "
                                                                      "channel value"})
    close_at_most = fields.Float()
    reason = fields.String()
    png_identical = fields.Boolean(allow_none=True, metadata={"description": "the new PNG's bytes are those the "
                                                                             "worker's receipt stated"})
    file_matches_ledger = fields.Boolean()
    requested_by = fields.String()
    at = Timestamp()
    reproduced_by = fields.String(allow_none=True, metadata={
        "description": "the worker whose generator made the image again; null: the server's own"})


class SampleSpecOut(Schema):
    """A sampled output's recorded job, prompt included: to the worker that claimed it only."""

    sample_id = fields.String()
    output_sha256 = fields.String()
    job_id = fields.String()
    prompt = fields.String()
    params = fields.Nested(ParamsOut)
    model = fields.Nested(ModelSpecOut)
    environment = fields.Dict(allow_none=True, metadata={"description": "the pixel environment the output "
                                                                        "was made in, to make it again in"})
    lease_expires_at = Timestamp()
    lease_s = fields.Integer()


class SampleClaimIn(Schema):
    device = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z]{2,10}$"), metadata={
        "description": "this worker's device class (cpu, cuda, mps): only outputs made on it are handed over"})


class SampleClaimOut(Schema):
    sample = fields.Nested(SampleSpecOut, allow_none=True, metadata={
        "description": "the oldest sampled output this worker may make again; null when none waits "
                       "(a worker is never handed an output it made)"})


class SampleResultForm(Schema):
    image = Upload(required=True, metadata={"description": "the PNG this worker made for the sampled job"})
    receipt = fields.String(required=True, validate=validate.Length(min=1, max=8000),
                            metadata={"description": "this worker's generation receipt for the image, signed by "
                                                     "its approved worker key"})


class VerdictOut(Schema):
    subject = fields.String()
    ok = fields.Boolean()
    outcome = fields.String(metadata={"description": "verified, recovered (a copy with no manifest whose "
                                                     "watermark or fingerprint names a Slate output), revoked, "
                                                     "unapproved, not_issued, unconfirmed (no records to check "
                                                     "issuance against: only outside the studio), untrusted, "
                                                     "tampered, remote_manifest, no_credentials or unreadable"})
    summary = fields.String()
    sha256 = fields.String(allow_none=True)
    checks = fields.Nested(ChecksOut)
    facts = fields.Dict(keys=fields.String(), values=fields.Raw(),
                        metadata={"description": "what the credential says (model, policy, decision, approver, ...)"})
    c2pa_trust_list = fields.Nested(CheckOut, metadata={
        "description": "whether the signer chains to a root on the configured C2PA trust list "
                       "(SLATE_C2PA_TRUST_LIST), apart from whether Slate issued the file; not_checked without one"})


# ---------------------------------------------------------------- policies

class PolicyIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000),
                         metadata={"description": "the policy file (YAML)"})


class PolicyShowQuery(Schema):
    text = fields.Boolean(load_default=False, metadata={"description": "include the policy file's text"})


class ReplayIn(Schema):
    limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100_000))


class PolicyReviewIn(Schema):
    verdict = fields.String(required=True, validate=validate.OneOf(["rejected", "changes_requested"]))
    comment = fields.String(required=True, validate=validate.Length(min=1, max=4000),
                            metadata={"description": "why: the author reads it to write the next version"})


class PublishIn(Schema):
    confirm_sha256 = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                                   metadata={"description": "the SHA-256 the publisher confirmed (preview's confirm)"})
    confirm_replacing = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0),
                                       metadata={"description": "the version it replaces, as confirmed (0: none)"})


class PolicyTestCaseIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    body = fields.String(required=True, validate=validate.Length(min=1, max=100_000),
                         metadata={"description": "a tests document (YAML): base facts and cases"})


class PolicyTestCaseOut(Schema):
    id = fields.Integer()
    uid = fields.String()
    name = fields.String()
    body = fields.String()
    author = fields.String()
    created_at = Timestamp()
    updated_at = Timestamp()
    updated_by = fields.String()


class PolicyReviewOut(Schema):
    reviewer = fields.String()
    verdict = fields.String()
    comment = fields.String()
    at = Timestamp()


class PolicyWarningOut(Schema):
    kind = fields.String(metadata={"description": "never-fires, shadowed or always-true"})
    rule = fields.String(metadata={"description": "the rule (or duty) the warning is about"})
    message = fields.String()
    paths = fields.List(fields.String(), metadata={"description": "the fact paths involved"})
    by = fields.String(allow_none=True, metadata={"description": "the rule that shadows it (shadowed only)"})


class PolicyVersionOut(Schema):
    id = fields.Integer()
    uid = fields.String()
    version = fields.Integer()
    title = fields.String()
    sha256 = fields.String()
    status = fields.String(metadata={"description": "draft, approved, published, superseded, rejected or "
                                                    "changes_requested"})
    author = fields.String()
    created_at = Timestamp()
    published_at = Timestamp(allow_none=True)
    published_by = fields.String(allow_none=True)
    superseded_at = Timestamp(allow_none=True)
    rollback_of = fields.Dict(allow_none=True, metadata={
        "description": "a rollback: {id, version} of the earlier version whose text (and reviews) it re-publishes"})
    reviews = fields.List(fields.Nested(PolicyReviewOut))
    warnings = fields.List(fields.Nested(PolicyWarningOut), metadata={
        "description": "the static analysis of the version (on add, publish and show): true warnings "
                       "legal should look at; they block nothing"})
    text = fields.String(metadata={"description": "only with ?text=true"})


class FieldChangeOut(Schema):
    field = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class RuleChangeOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "rule or duty"})
    change = fields.String(metadata={"description": "added, removed or changed"})
    title = fields.String()
    fields_ = fields.List(fields.Nested(FieldChangeOut), data_key="fields")


class PolicyDiffOut(Schema):
    old = fields.Nested(PolicyRefOut)
    new = fields.Nested(PolicyRefOut)
    header = fields.List(fields.Nested(FieldChangeOut))
    rules = fields.List(fields.Nested(RuleChangeOut))


class OdrlAssetCollectionOut(Schema):
    type_ = fields.String(data_key="@type", metadata={"description": "AssetCollection"})
    uid = fields.String(metadata={"description": "urn:slate:target:request, reference, training_asset or performer"})
    union = fields.List(fields.String(), data_key="slate:union",
                        metadata={"description": "the targets of a rule with several"})


_CONSTRAINT = ("an ODRL constraint (leftOperand, operator, rightOperand or rightOperandReference), "
               "a logical constraint (and, or), or a Slate profile extension (slate:not, slate:every, "
               "slate:any, slate:none, slate:count)")


class OdrlRuleOut(Schema):
    uid = fields.String(metadata={"description": "the policy's uid, #, and the rule's id"})
    title = fields.String(data_key="dc:title")
    description = fields.String(data_key="dc:description")
    action = fields.String(metadata={"description": "use"})
    target = fields.Nested(OdrlAssetCollectionOut)
    constraint = fields.List(fields.Raw(metadata={"description": _CONSTRAINT}),
                             metadata={"description": "all of them hold"})
    when = fields.Raw(data_key="slate:when", metadata={
        "description": "the rule applies only to subjects for which this holds: " + _CONSTRAINT})
    duty = fields.List(fields.Raw(metadata={
        "description": "obtainConsent (an approval: consentingParty, slate:count, ...) or attribute "
                       "(a credit line: slate:credit or slate:creditFrom), with its constraint"}))


class OdrlPolicyOut(Schema):
    context = fields.List(fields.Raw(), data_key="@context", metadata={
        "description": "the ODRL context and the Slate profile's prefix, slate: urn:slate:odrl:"})
    type_ = fields.String(data_key="@type", metadata={"description": "Set"})
    uid = fields.String()
    profile = fields.String(metadata={"description": "the Slate profile, urn:slate:odrl:profile:1"})
    title = fields.String(data_key="dc:title")
    description = fields.String(data_key="dc:description")
    version = fields.Integer(data_key="slate:version")
    lists = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw()), data_key="slate:lists")
    order = fields.List(fields.String(), data_key="slate:order", metadata={
        "description": "every rule's uid in the policy file's order"})
    permission = fields.List(fields.Nested(OdrlRuleOut), metadata={
        "description": "requirements, approvals (a duty obtainConsent) and credit lines (a duty attribute)"})
    prohibition = fields.List(fields.Nested(OdrlRuleOut))


class ReplayEntryOut(Schema):
    request = fields.Integer()
    old_policy = fields.String()
    old = fields.String()
    new = fields.String()
    flipped = fields.Boolean()
    reasons_added = fields.List(fields.String())
    reasons_removed = fields.List(fields.String())
    review = fields.String(allow_none=True, metadata={
        "description": "the output review replayed (the generated image's decision); null: the request's"})


class ReplayReportOut(Schema):
    policy = fields.Nested(PolicyRefOut)
    replayed = fields.Integer()
    flipped = fields.List(fields.Nested(ReplayEntryOut))
    reasons_changed = fields.List(fields.Nested(ReplayEntryOut))


class PolicyCaseOut(Schema):
    file = fields.String()
    case = fields.String()
    passed = fields.Boolean()
    problems = fields.List(fields.String())
    decision = fields.String(allow_none=True)
    fired = fields.List(fields.String(), metadata={"description": "the rules and duties the case made fire"})


class RuleCoverageOut(Schema):
    policy = fields.String(metadata={"description": "UID@VERSION"})
    rule = fields.String()
    kind = fields.String(metadata={"description": "prohibition, requirement, approval or duty"})
    fired = fields.Integer(metadata={"description": "cases in which the rule fired"})
    not_fired = fields.Integer(metadata={"description": "cases that evaluated it without it firing"})
    covered = fields.Boolean()


class PublishPreviewOut(Schema):
    version = fields.Nested(PolicyVersionOut)
    current = fields.Nested(PolicyVersionOut, allow_none=True)
    diff = fields.Nested(PolicyDiffOut, allow_none=True)
    replayed = fields.Integer(metadata={"description": "recorded decisions replayed (the most recent ones)"})
    flipped = fields.Integer()
    reasons_changed = fields.Integer()
    rollback = fields.Boolean()
    confirm = fields.Dict(metadata={"description": "{sha256, replacing}: what a publish may name as confirmed"})


class PolicyTestsOut(Schema):
    policy = fields.String()
    passed = fields.Integer()
    failed = fields.Integer()
    cases = fields.List(fields.Nested(PolicyCaseOut))
    coverage = fields.List(fields.Nested(RuleCoverageOut))
    uncovered = fields.List(fields.String(), metadata={"description": "rules no case makes fire"})


# ---------------------------------------------------------------- keys, audit log, ledger, proofs

class KeyOut(Schema):
    fingerprint = fields.String()
    subject = fields.String()
    issuer = fields.String()
    serial = fields.String()
    not_before = Timestamp()
    not_after = Timestamp()
    custody = fields.String(metadata={"description": "file (the keys folder) or external (KMS/HSM)"})
    status = fields.String(metadata={"description": "active, retired or revoked"})
    created_at = Timestamp()
    retired_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)
    revocation_reason = fields.String(allow_none=True)


class KeysStatusOut(Schema):
    keys_dir = fields.String()
    trust_anchors = fields.List(fields.String(), metadata={"description": "the subjects of the roots trusted"})
    active = fields.String(allow_none=True)
    keys = fields.List(fields.Nested(KeyOut))


class RotateIn(Schema):
    days = fields.Integer(load_default=365, validate=validate.Range(min=1, max=3650))


class KeyRevokeIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    at = Timestamp(load_default=None, allow_none=True)


class AuditVerdictOut(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    checkpoints = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
    notes = fields.List(fields.String())
    signers_checked = fields.Boolean()
    facts = fields.Dict(keys=fields.String(), values=fields.Raw(),
                        metadata={"description": "what was checked (e.g. the consistency proof)"})


class CheckpointOut(Schema):
    log = fields.String()
    tree_size = fields.Integer()
    root_hash = fields.String()
    at = fields.String(metadata={"description": "RFC 3339, as signed"})
    key_fingerprint = fields.String()
    certificate_chain_pem = fields.String()
    signature = fields.String(metadata={"description": "hex: raw r|s over the canonical checkpoint body"})


class CheckpointAnswerOut(CheckpointOut):
    checkpoint = fields.String(allow_none=True, metadata={"description": "null when nothing was logged since"})
    reason = fields.String()


class AuditEntryOut(Schema):
    seq = fields.Integer()
    at = fields.String(metadata={"description": "RFC 3339, as hashed"})
    actor = fields.String()
    action = fields.String()
    subject = fields.String()
    data = fields.Dict(keys=fields.String(), values=fields.Raw())
    prev_hash = fields.String()
    entry_hash = fields.String()


class AuditHeadOut(Schema):
    seq = fields.Integer()
    hash = fields.String()


class AuditExportOut(Schema):
    format = fields.String()
    head = fields.Nested(AuditHeadOut)
    entries = fields.List(fields.Nested(AuditEntryOut))
    checkpoints = fields.List(fields.Nested(CheckpointOut))


class AuditEntriesQuery(Schema):
    since = fields.String(metadata={"description": "entries at or after: YYYY-MM-DD or an ISO 8601 time (UTC)"})
    until = fields.String(metadata={"description": "entries before: YYYY-MM-DD (that whole day) or an ISO 8601 time"})
    actor = fields.String(metadata={"description": "who acted (case-insensitive, exact)"})
    action = fields.String(metadata={"description": "e.g. request.approved (exact)"})
    subject = fields.String(metadata={"description": "e.g. request:12 or output:<sha256> (case-insensitive, exact)"})
    before = fields.Integer(validate=validate.Range(min=0, max=2**62),
                            metadata={"description": "older entries than this seq (the answer's `older`)"})
    after = fields.Integer(validate=validate.Range(min=0, max=2**62),
                           metadata={"description": "newer entries than this seq (the answer's `newer`)"})


class AuditEntriesOut(Schema):
    entries = fields.List(fields.Nested(AuditEntryOut), metadata={"description": "newest first, 50 at most"})
    older = fields.Integer(allow_none=True, metadata={"description": "pass as `before` for the next older page"})
    newer = fields.Integer(allow_none=True, metadata={"description": "pass as `after` for the next newer page"})


class AuditEntryCheckpointOut(CheckpointOut):
    """A checkpoint as the entry pages read it: who signed it instead of the PEM chain."""

    first_new_seq = fields.Integer(metadata={"description": "the first entry this checkpoint added"})
    signer = fields.String(metadata={"description": "the signing certificate's subject and fingerprint"})

    class Meta:
        exclude = ("log", "certificate_chain_pem")


class AuditEntryDetailOut(Schema):
    entry = fields.Nested(AuditEntryOut)
    hash_matches = fields.Boolean(metadata={"description": "the entry still matches its own hash"})
    follows_previous = fields.Boolean(metadata={"description": "its prev_hash is the entry before's hash"})
    previous_seq = fields.Integer(allow_none=True)
    next_seq = fields.Integer(allow_none=True)
    checkpoint = fields.Nested(AuditEntryCheckpointOut, allow_none=True,
                               metadata={"description": "the first signed checkpoint covering it"})


class ConsistencyQuery(Schema):
    from_ = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1, max=2**62),
                           metadata={"description": "the tree size of the checkpoint you kept"})


class ConsistencyOut(Schema):
    old_size = fields.Integer()
    new_size = fields.Integer()
    new_root = fields.String()
    proof = fields.List(fields.String(), metadata={"description": "RFC 6962 consistency proof, hex hashes"})
    checkpoint = fields.Nested(CheckpointOut)


class LedgerQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LedgerEntryOut(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    manifest_label = fields.String()
    cert_fingerprint = fields.String()
    media_type = fields.String()
    job_id = fields.String()
    decision_id = fields.String()
    request_id = fields.String()
    model_ref = fields.String()
    signed_at = Timestamp()
    timestamped = fields.Boolean()
    file_path = fields.String(allow_none=True)
    claim_sha256 = fields.String()
    claim = fields.Dict(keys=fields.String(), values=fields.Raw(),
                        metadata={"description": "the governance assertion as signed"})
    in_good_standing = fields.Boolean()
    standing_reason = fields.String(allow_none=True)


class InclusionProofOut(Schema):
    kind = fields.String(metadata={"description": "inclusion"})
    leaf = fields.String()
    index = fields.Integer()
    tree_size = fields.Integer()
    path = fields.List(fields.String())
    root = fields.String()


class MembershipProofOut(Schema):
    """An inclusion proof, or (legal and auditors only) a proof of non-membership."""

    training_set = fields.String()
    kind = fields.String(metadata={"description": "inclusion or non-membership"})
    leaf = fields.String()
    index = fields.Integer()
    path = fields.List(fields.String())
    asset_sha256 = fields.String()
    tree_size = fields.Integer()
    root = fields.String()
    predecessor = fields.Nested(InclusionProofOut, allow_none=True)
    successor = fields.Nested(InclusionProofOut, allow_none=True)


class ProofIn(Schema):
    proof = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                        metadata={"description": "a proof as GET /training-sets/{name}/proof/{sha256} gave it"})
    root = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class ProofCheckOut(Schema):
    valid = fields.Boolean()
    kind = fields.String()
    root = fields.String(allow_none=True)


# ---------------------------------------------------------------- provenance

class OutputItemOut(Schema):
    sha256 = fields.String()
    signed_at = Timestamp()
    model_ref = fields.String()
    request_id = fields.String()
    decision_id = fields.String()
    job_id = fields.String()
    media_type = fields.String()
    in_good_standing = fields.Boolean()
    standing_reason = fields.String(allow_none=True)


class SearchFiltersOut(Schema):
    asset = fields.String()
    person = fields.String()
    licence = fields.String()
    consent = fields.String()
    model = fields.String()
    training_set = fields.String()
    production = fields.String()
    approver = fields.String()
    outcome = fields.String()
    since = Timestamp()
    until = Timestamp()


class OutputPageOut(Schema):
    items = fields.List(fields.Nested(OutputItemOut))
    next_cursor = fields.String(allow_none=True)
    filters = fields.Nested(SearchFiltersOut, metadata={"description": "the filters this page answers"})


class LineageOutputOut(OutputItemOut):
    manifest_label = fields.String()
    cert_fingerprint = fields.String()
    timestamped = fields.Boolean()


class LedgerStandingOut(Schema):
    in_good_standing = fields.Boolean()
    reason = fields.String(allow_none=True)
    changed_at = Timestamp(allow_none=True)


class StandingOut(Schema):
    in_good_standing = fields.Boolean()
    ledger = fields.Nested(LedgerStandingOut)
    revoked_rights = fields.List(fields.String())


class LineagePolicyOut(PolicyRefOut):
    title = fields.String()


class LineageDecisionOut(Schema):
    id = fields.Integer()
    outcome = fields.String()
    policy = fields.Nested(LineagePolicyOut)
    credits = fields.List(fields.String())
    approvals_required = fields.List(fields.String())
    records = fields.Nested(RecordsOut)
    created_at = Timestamp()


class LineageApprovalOut(Schema):
    approver = fields.String()
    verdict = fields.String()
    at = Timestamp()


class LineageSignOffOut(LineageApprovalOut):
    rules = fields.List(fields.String(), metadata={"description": "approval rules the sign-off satisfied"})


class LineageJobOut(Schema):
    id = fields.String()
    status = fields.String()
    worker = fields.String(allow_none=True)
    attempts = fields.Integer()


class LicenceStandingOut(Schema):
    id = fields.Integer()
    ref = fields.String()
    licensor = fields.String()
    takedown = fields.Boolean()
    takedown_reason = fields.String(allow_none=True)


class TrainingLicenceOut(LicenceStandingOut):
    assets = fields.Integer(metadata={"description": "members held under this licence"})


class LineageTrainingSetOut(Schema):
    id = fields.Integer()
    name = fields.String()
    merkle_root = fields.String()
    size = fields.Integer()
    licences = fields.List(fields.Nested(TrainingLicenceOut))


class LineageReferenceOut(Schema):
    sha256 = fields.String()
    title = fields.String(allow_none=True)
    licence = fields.Nested(LicenceStandingOut, allow_none=True)
    people = fields.List(fields.String())


class LineageConsentOut(Schema):
    id = fields.Integer()
    person = fields.String()
    uses = fields.List(fields.String())
    revoked = fields.Boolean()
    revoked_at = Timestamp(allow_none=True)
    revoked_reason = fields.String(allow_none=True)


class LineageOut(Schema):
    output = fields.Nested(LineageOutputOut)
    standing = fields.Nested(StandingOut)
    request = fields.Nested(RequestRecordOut, allow_none=True)
    decision = fields.Nested(LineageDecisionOut, allow_none=True)
    approval = fields.Nested(LineageApprovalOut, allow_none=True,
                             metadata={"description": "the sign-off that met the last approval requirement"})
    signoffs = fields.List(fields.Nested(LineageSignOffOut), metadata={"description": "every sign-off, in order"})
    job = fields.Nested(LineageJobOut, allow_none=True)
    model = fields.Nested(lambda: ModelOut())
    training_set = fields.Nested(LineageTrainingSetOut, allow_none=True)
    references = fields.List(fields.Nested(LineageReferenceOut))
    consents = fields.List(fields.Nested(LineageConsentOut))


class ImpactCauseOut(Schema):
    kind = fields.String(metadata={"description": "consent or licence"})
    id = fields.Integer()
    subject = fields.String()
    label = fields.String()


class ImpactTrainingSetOut(Schema):
    id = fields.Integer()
    name = fields.String()
    merkle_root = fields.String()
    size = fields.Integer()


class ImpactModelOut(Schema):
    id = fields.Integer()
    ref = fields.String()
    status = fields.String()
    needs_retirement_review = fields.Boolean()


class ImpactRequestOut(Schema):
    id = fields.Integer()
    production = fields.String()
    status = fields.String()
    job = fields.String(allow_none=True)


class ImpactOutputsOut(Schema):
    count = fields.Integer(metadata={"description": "exact"})
    sha256 = fields.List(fields.String(), metadata={"description": "the first ones, newest first"})
    listed = fields.Integer()


class ImpactChangesOut(Schema):
    jobs_blocked = fields.Integer()
    outputs_marked = fields.Integer()
    models_flagged = fields.Integer()


class ImpactOut(Schema):
    cause = fields.Nested(ImpactCauseOut)
    applied = fields.Boolean(metadata={"description": "false for a dry run"})
    assets = fields.Integer()
    training_sets = fields.List(fields.Nested(ImpactTrainingSetOut))
    models = fields.List(fields.Nested(ImpactModelOut))
    pending_requests = fields.List(fields.Nested(ImpactRequestOut))
    outputs = fields.Nested(ImpactOutputsOut)
    changes = fields.Nested(ImpactChangesOut, allow_none=True)


class AttributesIn(Schema):
    attributes = Attributes(required=True, metadata={
        "description": "the attributes to set (name -> value), each checked against the published catalogue; "
                       "a value of null unsets one; attributes not named keep their values"})


class CatalogueIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000),
                         metadata={"description": "the catalogue file (YAML)"})


class CatalogueVersionOut(PolicyVersionOut):
    """A catalogue version and its review; like a policy version's."""


class AttributeOut(Schema):
    kind = fields.String()
    name = fields.String()
    type = fields.String(metadata={"description": "string, number, bool, date, list, enum or enumList"})
    values = fields.List(fields.String(), metadata={"description": "an enum's or enumList's values"})
    title = fields.String()


class CatalogueOut(Schema):
    uid = fields.String(metadata={"description": "empty when no catalogue is published"})
    version = fields.Integer(metadata={"description": "0 when no catalogue is published"})
    title = fields.String()
    sha256 = fields.String()
    attributes = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(AttributeOut)),
                             metadata={"description": "record kind -> its declared attributes"})
    vocabularies = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               metadata={"description": "closed list (licence.grants) -> the words it adds"})

