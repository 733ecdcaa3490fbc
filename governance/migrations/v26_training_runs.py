"""Step 26: training runs as governed requests, and whether a model was attested.

Why: only the bundled model was trained by Slate; any other model was registered by a
weights hash someone typed in, and nothing attested which files trained which weights.
A training run is now asked for, decided by the policy's ``training`` rules, approved by
legal, run by an enrolled worker under a lease, and closed by the worker's signed
attestation, which Slate checks and countersigns (``training_run``). A model registered
from an attested run says so (``model.attested``, ``model.training_run_id``); every model
registered before this step is unattested (FALSE), which is what it is. The columns are
added only where missing, and the table only if absent, as steps 15 to 23 do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel

VERSION = 26
DESCRIPTION = "registry: training runs (decision, approval, lease, progress, attestation); model.attested"


class TrainingSet(FrozenModel):
    """The training set table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "training_set"


class BaseModelRecord(FrozenModel):
    """The base model table (step 24), only as the target of a foreign key."""

    class Meta:
        table_name = "base_model"


class Model(FrozenModel):
    """The model table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "model"


class TrainingRun(FrozenModel):
    uid = peewee.CharField(max_length=40, unique=True)
    origin = peewee.CharField(max_length=20, default="request")
    production = peewee.CharField(max_length=120, index=True)
    territory = peewee.CharField(max_length=2)
    base = peewee.ForeignKeyField(BaseModelRecord, null=True, on_delete="RESTRICT")
    training_set = peewee.ForeignKeyField(TrainingSet, on_delete="RESTRICT")
    method = peewee.CharField(max_length=10)
    hyperparameters = peewee.TextField()
    model_name = peewee.CharField(max_length=200)
    model_version = peewee.CharField(max_length=60)
    requested_by = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, index=True)
    decision = peewee.TextField()
    approved_by = peewee.CharField(max_length=200, null=True)
    approved_at = peewee.DateTimeField(null=True)
    worker = peewee.CharField(max_length=200, null=True)
    lease_expires_at = peewee.DateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    step = peewee.IntegerField(null=True)
    total_steps = peewee.IntegerField(null=True)
    loss = peewee.FloatField(null=True)
    failure = peewee.TextField(null=True)
    attestation = peewee.TextField(null=True)
    attestation_sha256 = peewee.CharField(max_length=64, null=True)
    worker_key_id = peewee.CharField(max_length=64, null=True)
    worker_signature = peewee.CharField(max_length=100, null=True)
    slate_signature = peewee.TextField(null=True)
    model = peewee.ForeignKeyField(Model, null=True, on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "training_run"


def _columns() -> list[tuple[str, peewee.Field]]:
    return [("attested", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])),
            ("training_run_id", peewee.IntegerField(null=True))]


def apply() -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("model")}
    for name, column in _columns():
        if name not in have:
            run(migrator.add_column("model", name, column, allow_not_null=not column.null))
    database.create_tables([TrainingRun], safe=True)
