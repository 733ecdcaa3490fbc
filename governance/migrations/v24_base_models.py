"""Step 24: base models in the registry, and the content credentials read from assets.

Why: a model's ``base_model`` was free text, so a LoRA on a web-scraped base passed every
training-licence rule. ``base_model`` records each base a studio model may start from: its
weights identity, its licence, the maker's training-data statement, and legal's standing
for it (``approved``, ``restricted`` for previs and concept only, ``retired``, final).
``model.base_id`` links a model to its registered base (NULL: none linked; the old
``model.base_model`` text stays, for display).

Assets carried C2PA/CAWG content credentials that nobody read, so an image its owner marked
"not allowed for AI training" could enter a training set. Registration now reads them; the
asset row keeps what decisions need (``credential_state``: none | valid | invalid |
unsupported, NULL for assets registered before this step, whose credentials were never
read; ``credential_signer``; ``training_mining``: the owner's answer for AI training,
allowed | notAllowed | constrained | none), and ``asset_manifest`` keeps the manifest store
itself (bounded size), its active manifest's label, its signer's certificate serial, its
validation results and every training-and-mining entry, for a reference's ingredient.

The table is created only if absent and the columns added only where missing, as steps 10
and 16 do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel

VERSION = 24
DESCRIPTION = ("registry: base models (licence, training-data statement, status) and model.base_id; assets' "
               "content credentials (state, signer, training-and-mining answer) and their manifest stores")


class Asset(FrozenModel):
    """The asset table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "asset"


class BaseModelRecord(FrozenModel):
    id = peewee.AutoField()
    name = peewee.CharField(max_length=200, unique=True)
    weights_hash = peewee.CharField(max_length=64, index=True)
    licence = peewee.CharField(max_length=300)
    licence_url = peewee.CharField(max_length=1000, null=True)
    training_data = peewee.TextField()
    status = peewee.CharField(max_length=20, index=True)
    status_reason = peewee.TextField(null=True)
    status_changed_at = peewee.DateTimeField()
    path = peewee.CharField(max_length=1000, null=True)
    created_at = peewee.DateTimeField()
    registered_by = peewee.CharField(max_length=200, null=True)

    class Meta:
        table_name = "base_model"


class AssetManifest(FrozenModel):
    asset = peewee.ForeignKeyField(Asset, unique=True, on_delete="CASCADE")
    sha256 = peewee.CharField(max_length=64)
    active_manifest = peewee.CharField(max_length=300, null=True)
    signer = peewee.CharField(max_length=400, null=True)
    signer_serial = peewee.CharField(max_length=100, null=True)
    validation = peewee.TextField()
    training_mining = peewee.TextField()
    store = peewee.BlobField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "asset_manifest"


def _columns() -> dict[str, list[tuple[str, peewee.Field]]]:
    return {
        "model": [("base_id", peewee.ForeignKeyField(BaseModelRecord, null=True, on_delete="RESTRICT",
                                                     field=BaseModelRecord.id))],
        "asset": [("credential_state", peewee.CharField(max_length=20, null=True)),
                  ("credential_signer", peewee.CharField(max_length=400, null=True)),
                  ("training_mining", peewee.CharField(max_length=20, null=True))],
    }


def apply() -> None:
    database.create_tables([BaseModelRecord, AssetManifest], safe=True)
    migrator = SchemaMigrator.from_database(database.obj)
    for table, columns in _columns().items():
        have = {c.name for c in database.get_columns(table)}
        for name, column in columns:
            if name not in have:
                run(migrator.add_column(table, name, column))
