"""peewee tables of the registry. Portable SQL only: the same schema runs on PostgreSQL."""

from __future__ import annotations

from typing import Any

import peewee

from ..db import BaseModel
from ..fields import AttributesField, JSONField, UTCDateTimeField
from ..words import first_word


class Production(BaseModel):
    name = peewee.CharField(max_length=120, unique=True)
    title = peewee.CharField(max_length=300, default="")
    created_at = UTCDateTimeField()
    #: the values of the attributes the catalogue declares for a production (migration step 14)
    attributes = AttributesField()


class Person(BaseModel):
    name = peewee.CharField(max_length=200, unique=True)
    kind = peewee.CharField(max_length=40)  # performer | rights_holder | crew
    is_minor = peewee.BooleanField(default=False)
    guardian = peewee.CharField(max_length=200, null=True)
    created_at = UTCDateTimeField()
    attributes = AttributesField()
    #: the day a performer died (migration step 27), recorded by legal: a replica of them
    #: then needs their estate's consent
    deceased_on = peewee.DateField(null=True)
    #: the name's first word as prompts are read (``words.first_word``; migration step 35):
    #: a decision reads only the people whose first name word is in the prompt, not everyone
    #: (text, not 200 characters: casefolding lengthens some names, "ß" -> "ss")
    name_first = peewee.TextField(index=True, default="", constraints=[peewee.SQL("DEFAULT ''")])
    consents: peewee.ModelSelect[Consent]

    def save(self, force_insert: bool = False, only: Any = None) -> Any:
        """Saved as peewee saves it, with ``name_first`` made from the name whoever saves it
        (a save of named fields that include the name writes it too)."""
        if self.name is not None:
            self.name_first = first_word(self.name)
            if only is not None and any(f is Person.name or (isinstance(f, str) and f == "name") for f in only):
                only = [*only, Person.name_first]
        return super().save(force_insert=force_insert, only=only)


class PersonProduction(BaseModel):
    """The productions a person takes part in: what a producer of one of them may see."""

    person = peewee.ForeignKeyField(Person, backref="production_links", on_delete="CASCADE")
    person_id: int
    production = peewee.ForeignKeyField(Production, backref="person_links", on_delete="CASCADE")
    production_id: int

    class Meta:
        indexes = ((("person", "production"), True),)


#: A consent for a minor, or for likeness, takes effect only when a second legal user confirms it.
CONSENT_STATUSES = ("pending", "confirmed")


class Consent(BaseModel):
    person = peewee.ForeignKeyField(Person, backref="consents", on_delete="RESTRICT")
    person_id: int
    uses = JSONField()
    productions = JSONField()
    territories = JSONField()
    valid_from = peewee.DateField()
    valid_until = peewee.DateField()
    guardian_signed = peewee.BooleanField(default=False)
    guardian_name = peewee.CharField(max_length=200, null=True)
    guardian_relationship = peewee.CharField(max_length=100, null=True)
    document_sha256 = peewee.CharField(max_length=64)
    #: the signed document itself is kept in the data folder (a ConsentDocument); rows
    #: from before that recorded only its hash
    document_stored = peewee.BooleanField(default=False)
    granted_at = UTCDateTimeField()
    recorded_by = peewee.CharField(max_length=200, null=True)
    #: fail closed: a row written without a status waits for a second legal user
    status = peewee.CharField(max_length=20, default="pending", index=True)
    confirmed_by = peewee.CharField(max_length=200, null=True)
    confirmed_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True, index=True)
    revoked_reason = peewee.TextField(null=True)
    #: bumped on every change, so a decision can cite the exact state it relied on
    version = peewee.IntegerField(default=1)
    attributes = AttributesField()
    #: the performer's own credit terms (migration step 16): whether outputs must credit them,
    #: with which line, and which output uses the consent allows (None: every use)
    credit_text = peewee.TextField(null=True)
    attribution_required = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])
    output_uses = JSONField(null=True)
    #: performers' terms (migration step 27, ``registry.performer_terms``): the kind of digital
    #: replica, the specific use consented to in words, when notice was given, and for a
    #: deceased performer the estate's consent and who gave it
    replica_type = peewee.CharField(max_length=40, null=True)
    use_description = peewee.TextField(null=True)
    notice_given_at = UTCDateTimeField(null=True)
    estate_consent = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])
    estate_representative = peewee.CharField(max_length=200, null=True)
    #: what each use pays (migration step 28): {"amount": decimal string, "currency": ISO 4217,
    #: "per": "output"} or None; and the most requests that may rely on it (None: no cap)
    compensation = JSONField(null=True)
    max_uses = peewee.IntegerField(null=True)
    events: peewee.ModelSelect[ConsentEvent]


class ConsentDocument(BaseModel):
    """A signed consent document kept content-addressed in the data folder, as checked when
    it was received: its type and, for a digitally signed PDF, who signed it."""

    sha256 = peewee.CharField(max_length=64, unique=True)
    media_type = peewee.CharField(max_length=100)
    size_bytes = peewee.BigIntegerField()
    signed = peewee.BooleanField(default=False)
    signers = JSONField()
    recorded_by = peewee.CharField(max_length=200, null=True)
    recorded_at = UTCDateTimeField()


class ConsentEvent(BaseModel):
    """Append-only history: a revocation adds a row, nothing is overwritten away."""

    consent = peewee.ForeignKeyField(Consent, backref="events", on_delete="RESTRICT")
    consent_id: int
    event = peewee.CharField(max_length=20)  # granted | confirmed | revoked
    at = UTCDateTimeField()
    reason = peewee.TextField(null=True)
    actor = peewee.CharField(max_length=200, null=True)


class Licence(BaseModel):
    ref = peewee.CharField(max_length=120, unique=True)
    licensor = peewee.CharField(max_length=300)
    grants = JSONField()
    territories = JSONField()
    starts_on = peewee.DateField()
    ends_on = peewee.DateField(null=True)
    attribution_required = peewee.BooleanField(default=False)
    credit_text = peewee.TextField(null=True)
    takedown = peewee.BooleanField(default=False, index=True)
    takedown_at = UTCDateTimeField(null=True)
    takedown_reason = peewee.TextField(null=True)
    created_at = UTCDateTimeField()
    version = peewee.IntegerField(default=1)
    attributes = AttributesField()
    #: royalty per output and a cap on requests relying on it (migration step 28; see Consent)
    compensation = JSONField(null=True)
    max_uses = peewee.IntegerField(null=True)


class Asset(BaseModel):
    sha256 = peewee.CharField(max_length=64, unique=True)
    media_type = peewee.CharField(max_length=100)
    title = peewee.CharField(max_length=300)
    source = peewee.CharField(max_length=500, default="")
    size_bytes = peewee.BigIntegerField()
    licence = peewee.ForeignKeyField(Licence, backref="assets", null=True, on_delete="RESTRICT")
    licence_id: int | None
    #: the production that registered it, if any
    production = peewee.ForeignKeyField(Production, backref="assets", null=True, on_delete="RESTRICT")
    production_id: int | None
    #: in the studio's library: seen by every production (what legal registers without a
    #: production); an asset with neither is seen by studio-wide roles only until legal assigns it
    library = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField()
    attributes = AttributesField()
    #: its content credentials as read at registration (migration step 24): ``none`` (no
    #: manifest), ``valid``, ``invalid`` (a manifest that failed validation), ``unsupported``
    #: (a media type c2pa does not read); NULL: registered before credentials were read
    credential_state = peewee.CharField(max_length=20, null=True)
    #: who signed its active manifest (the claim signer's common name and organisation)
    credential_signer = peewee.CharField(max_length=400, null=True)
    #: the owner's training-and-mining answer for AI training (``credentials.intake``):
    #: allowed | notAllowed | constrained | none; NULL read as none
    training_mining = peewee.CharField(max_length=20, null=True)


class AssetManifest(BaseModel):
    """An asset's C2PA manifest store as registration read it (migration step 24), kept so a
    request using the asset as a reference can name it as its ingredient's manifest."""

    asset = peewee.ForeignKeyField(Asset, unique=True, backref="manifests", on_delete="CASCADE")
    asset_id: int
    sha256 = peewee.CharField(max_length=64)
    active_manifest = peewee.CharField(max_length=300, null=True)
    signer = peewee.CharField(max_length=400, null=True)
    signer_serial = peewee.CharField(max_length=100, null=True)
    #: c2pa's validation status codes for the active manifest (empty: it validated)
    validation = JSONField()
    #: every training-and-mining entry found: {assertion label: {entry: {"use": ..., ...}}}
    training_mining = JSONField()
    store = peewee.BlobField()
    created_at = UTCDateTimeField()


#: a base model's standing: approved (any use), restricted (not for final frames or
#: marketing), retired (final; no use)
BASE_STATUSES = ("approved", "restricted", "retired")


class BaseModelRecord(BaseModel):
    """A base model studio models are trained from (migration step 24). ``BaseModel`` is
    peewee's base class here, hence the name."""

    name = peewee.CharField(max_length=200, unique=True)
    weights_hash = peewee.CharField(max_length=64, index=True)
    licence = peewee.CharField(max_length=300)
    licence_url = peewee.CharField(max_length=1000, null=True)
    #: the maker's own statement of what the base was trained on
    training_data = peewee.TextField()
    status = peewee.CharField(max_length=20, index=True)
    status_reason = peewee.TextField(null=True)
    status_changed_at = UTCDateTimeField()
    #: where workers find its weights
    path = peewee.CharField(max_length=1000, null=True)
    created_at = UTCDateTimeField()
    registered_by = peewee.CharField(max_length=200, null=True)

    class Meta:
        table_name = "base_model"


class AssetPerson(BaseModel):
    asset = peewee.ForeignKeyField(Asset, backref="people_links", on_delete="CASCADE")
    asset_id: int
    person = peewee.ForeignKeyField(Person, backref="asset_links", on_delete="RESTRICT")
    person_id: int

    class Meta:
        indexes = ((("asset", "person"), True),)


class TrainingSet(BaseModel):
    name = peewee.CharField(max_length=200, unique=True)
    merkle_root = peewee.CharField(max_length=64, index=True)
    size = peewee.IntegerField()
    description = peewee.TextField(default="")
    created_at = UTCDateTimeField()


class TrainingSetMember(BaseModel):
    training_set = peewee.ForeignKeyField(TrainingSet, backref="members", on_delete="CASCADE")
    training_set_id: int
    asset = peewee.ForeignKeyField(Asset, backref="memberships", on_delete="RESTRICT")
    asset_id: int
    licence = peewee.ForeignKeyField(Licence, backref="memberships", on_delete="RESTRICT")
    licence_id: int
    leaf_key = peewee.CharField(max_length=300)

    class Meta:
        indexes = ((("training_set", "asset"), True),)


class Model(BaseModel):
    name = peewee.CharField(max_length=200)
    version = peewee.CharField(max_length=60)
    weights_hash = peewee.CharField(max_length=64, index=True)
    #: free text from before base models were registered (display only)
    base_model = peewee.CharField(max_length=300, null=True)
    #: its registered base (migration step 24); NULL: none linked
    base = peewee.ForeignKeyField(BaseModelRecord, backref="models", null=True, on_delete="RESTRICT")
    base_id: int | None
    training_set = peewee.ForeignKeyField(TrainingSet, backref="models", null=True, on_delete="RESTRICT")
    training_set_id: int | None
    status = peewee.CharField(max_length=20, default="registered", index=True)
    path = peewee.CharField(max_length=1000, null=True)
    created_at = UTCDateTimeField()
    status_changed_at = UTCDateTimeField()
    status_reason = peewee.TextField(null=True)
    needs_retirement_review = peewee.BooleanField(default=False)
    #: registered from a training run whose attestation Slate checked and countersigned
    #: (migration step 26); a model registered by a typed-in weights hash is unattested
    attested = peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])
    #: the run it was trained by (``TrainingRun``), when attested
    training_run_id = peewee.IntegerField(null=True)

    class Meta:
        indexes = ((("name", "version"), True),)


class TrainingRun(BaseModel):
    """A model training asked for, decided by policy, approved by legal, run by a worker and
    attested (migration step 26). ``lifecycle.training_runs`` owns its life."""

    uid = peewee.CharField(max_length=40, unique=True)
    #: ``request`` (asked for through the API or CLI) or ``bundled`` (the studio's own build)
    origin = peewee.CharField(max_length=20, default="request")
    production = peewee.CharField(max_length=120, index=True)
    territory = peewee.CharField(max_length=2)
    #: the registered base it starts from; None: trained from scratch
    base = peewee.ForeignKeyField(BaseModelRecord, backref="training_runs", null=True, on_delete="RESTRICT")
    base_id: int | None
    training_set = peewee.ForeignKeyField(TrainingSet, backref="training_runs", on_delete="RESTRICT")
    training_set_id: int
    method = peewee.CharField(max_length=10)
    hyperparameters = JSONField()
    model_name = peewee.CharField(max_length=200)
    model_version = peewee.CharField(max_length=60)
    requested_by = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, index=True)
    #: the policy's decision as recorded (policy version, outcome, findings, inputs digest, facts)
    decision = JSONField()
    approved_by = peewee.CharField(max_length=200, null=True)
    approved_at = UTCDateTimeField(null=True)
    worker = peewee.CharField(max_length=200, null=True)
    lease_expires_at = UTCDateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    step = peewee.IntegerField(null=True)
    total_steps = peewee.IntegerField(null=True)
    loss = peewee.FloatField(null=True)
    failure = peewee.TextField(null=True)
    #: the attestation as the worker signed it (canonical JSON), its SHA-256, the worker key
    #: that signed it and its signature, and Slate's countersignature
    attestation = peewee.TextField(null=True)
    attestation_sha256 = peewee.CharField(max_length=64, null=True)
    worker_key_id = peewee.CharField(max_length=64, null=True)
    worker_signature = peewee.CharField(max_length=100, null=True)
    slate_signature = JSONField(null=True)
    model = peewee.ForeignKeyField(Model, backref="training_runs", null=True, on_delete="RESTRICT")
    model_id: int | None
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()


#: an asset's fingerprint row: ``indexed`` (in the similarity index) or ``skipped`` (with why)
FINGERPRINT_STATUSES = ("indexed", "skipped")


class AssetFingerprint(BaseModel):
    """An asset's perceptual fingerprints (migration step 20): what the similarity index is
    rebuilt from. The asset's bytes are never stored, only these."""

    asset = peewee.ForeignKeyField(Asset, unique=True, backref="fingerprints", on_delete="CASCADE")
    asset_id: int
    version = peewee.CharField(max_length=100, null=True)
    phash = peewee.CharField(max_length=16, null=True)
    #: float32 little-endian, ``perception.fingerprints.DESCRIPTOR_DIM`` values
    descriptor = peewee.BlobField(null=True)
    status = peewee.CharField(max_length=20, index=True)
    reason = peewee.TextField(null=True)
    created_at = UTCDateTimeField()


class WatchlistEntry(BaseModel):
    """A protected work outputs must not imitate (migration step 20): legal registers it; it
    is never a training member or a reference, and no licence of it covers output use."""

    asset = peewee.ForeignKeyField(Asset, unique=True, backref="watchlist", on_delete="RESTRICT")
    asset_id: int
    note = peewee.TextField(default="")
    registered_by = peewee.CharField(max_length=200, null=True)
    created_at = UTCDateTimeField()


class LookReference(BaseModel):
    """An asset a production approved as its look (migration step 20)."""

    production = peewee.ForeignKeyField(Production, backref="looks", on_delete="CASCADE")
    production_id: int
    asset = peewee.ForeignKeyField(Asset, backref="looks", on_delete="RESTRICT")
    asset_id: int
    added_by = peewee.CharField(max_length=200, null=True)
    created_at = UTCDateTimeField()

    class Meta:
        indexes = ((("production", "asset"), True),)


class PersonFace(BaseModel):
    """The face descriptor of a reference photo of a person whose confirmed consent covers
    biometric matching (migration step 21): what output review matches faces against.
    Biometric data: it never leaves the database (no answer, log line or credential)."""

    person = peewee.ForeignKeyField(Person, backref="faces", on_delete="CASCADE")
    person_id: int
    asset = peewee.ForeignKeyField(Asset, backref="faces", on_delete="CASCADE")
    asset_id: int
    matcher_version = peewee.CharField(max_length=200)
    descriptor = peewee.BlobField()
    created_at = UTCDateTimeField()

    class Meta:
        indexes = ((("person", "asset"), True),)


TABLES = [Production, Person, PersonProduction, Consent, ConsentDocument, ConsentEvent, Licence, Asset, AssetPerson,
          TrainingSet, TrainingSetMember, BaseModelRecord, Model, TrainingRun, AssetManifest, AssetFingerprint,
          WatchlistEntry, LookReference, PersonFace]


#: a training set's clearance (``policy.clearance``): every member cleared, or not
CLEARANCE_STATES = ("clear", "not_clear")


class TrainingClearance(BaseModel):
    """A training set's clearance as last computed (migration step 25).

    ``revision`` is bumped whenever the catalogue attributes of one of the set's members
    change (``set_revisions.member_attributes_changed``): every process then recomputes the
    partition of the members it kept. ``key`` names the exact licence and consent records
    ``state`` and ``summary`` were computed from. A record and a signal only: no decision
    trusts what it says (``policy.clearance`` recomputes from the live records)."""

    training_set = peewee.ForeignKeyField(TrainingSet, unique=True, backref="clearance", on_delete="CASCADE")
    training_set_id: int
    revision = peewee.IntegerField(default=1)
    key = peewee.CharField(max_length=64)
    state = peewee.CharField(max_length=20)
    summary = JSONField()
    computed_at = UTCDateTimeField()
