"""Step 1: the registry, as it shipped (7d6912a).

Why: Slate decides nothing without knowing who is in a picture and what rights it holds,
so its first tables are people, productions, consents (with their history), licences,
assets, the people assets show, training sets with their members, and models. Later
columns (a person's productions, an asset's production, consents' four eyes and stored
documents) arrived with step 10 and are added there, not here.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 1
DESCRIPTION = "registry: people, productions, consents, assets, licences, training sets, models"


class Production(FrozenModel):
    name = peewee.CharField(max_length=120, unique=True)
    title = peewee.CharField(max_length=300, default="")
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "production"


class Person(FrozenModel):
    name = peewee.CharField(max_length=200, unique=True)
    kind = peewee.CharField(max_length=40)
    is_minor = peewee.BooleanField(default=False)
    guardian = peewee.CharField(max_length=200, null=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "person"


class Consent(FrozenModel):
    person = peewee.ForeignKeyField(Person, on_delete="RESTRICT")
    uses = peewee.TextField()
    productions = peewee.TextField()
    territories = peewee.TextField()
    valid_from = peewee.DateField()
    valid_until = peewee.DateField()
    guardian_signed = peewee.BooleanField(default=False)
    guardian_name = peewee.CharField(max_length=200, null=True)
    document_sha256 = peewee.CharField(max_length=64)
    granted_at = peewee.DateTimeField()
    revoked_at = peewee.DateTimeField(null=True, index=True)
    revoked_reason = peewee.TextField(null=True)
    version = peewee.IntegerField(default=1)

    class Meta:
        table_name = "consent"


class ConsentEvent(FrozenModel):
    consent = peewee.ForeignKeyField(Consent, on_delete="RESTRICT")
    event = peewee.CharField(max_length=20)
    at = peewee.DateTimeField()
    reason = peewee.TextField(null=True)
    actor = peewee.CharField(max_length=200, null=True)

    class Meta:
        table_name = "consent_event"


class Licence(FrozenModel):
    ref = peewee.CharField(max_length=120, unique=True)
    licensor = peewee.CharField(max_length=300)
    grants = peewee.TextField()
    territories = peewee.TextField()
    starts_on = peewee.DateField()
    ends_on = peewee.DateField(null=True)
    attribution_required = peewee.BooleanField(default=False)
    credit_text = peewee.TextField(null=True)
    takedown = peewee.BooleanField(default=False, index=True)
    takedown_at = peewee.DateTimeField(null=True)
    takedown_reason = peewee.TextField(null=True)
    created_at = peewee.DateTimeField()
    version = peewee.IntegerField(default=1)

    class Meta:
        table_name = "licence"


class Asset(FrozenModel):
    sha256 = peewee.CharField(max_length=64, unique=True)
    media_type = peewee.CharField(max_length=100)
    title = peewee.CharField(max_length=300)
    source = peewee.CharField(max_length=500, default="")
    size_bytes = peewee.BigIntegerField()
    licence = peewee.ForeignKeyField(Licence, null=True, on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "asset"


class AssetPerson(FrozenModel):
    asset = peewee.ForeignKeyField(Asset, on_delete="CASCADE")
    person = peewee.ForeignKeyField(Person, on_delete="RESTRICT")

    class Meta:
        table_name = "asset_person"
        indexes = ((("asset", "person"), True),)


class TrainingSet(FrozenModel):
    name = peewee.CharField(max_length=200, unique=True)
    merkle_root = peewee.CharField(max_length=64, index=True)
    size = peewee.IntegerField()
    description = peewee.TextField(default="")
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "training_set"


class TrainingSetMember(FrozenModel):
    training_set = peewee.ForeignKeyField(TrainingSet, on_delete="CASCADE")
    asset = peewee.ForeignKeyField(Asset, on_delete="RESTRICT")
    licence = peewee.ForeignKeyField(Licence, on_delete="RESTRICT")
    leaf_key = peewee.CharField(max_length=300)

    class Meta:
        table_name = "training_set_member"
        indexes = ((("training_set", "asset"), True),)


class Model(FrozenModel):
    name = peewee.CharField(max_length=200)
    version = peewee.CharField(max_length=60)
    weights_hash = peewee.CharField(max_length=64, index=True)
    base_model = peewee.CharField(max_length=300, null=True)
    training_set = peewee.ForeignKeyField(TrainingSet, null=True, on_delete="RESTRICT")
    status = peewee.CharField(max_length=20, default="registered", index=True)
    path = peewee.CharField(max_length=1000, null=True)
    created_at = peewee.DateTimeField()
    status_changed_at = peewee.DateTimeField()
    status_reason = peewee.TextField(null=True)
    needs_retirement_review = peewee.BooleanField(default=False)

    class Meta:
        table_name = "model"
        indexes = ((("name", "version"), True),)


def apply() -> None:
    database.create_tables([Production, Person, Consent, ConsentEvent, Licence, Asset, AssetPerson, TrainingSet,
                            TrainingSetMember, Model])
