"""Step 20: perceptual fingerprints of registered assets, the watchlist, and productions'
look references.

Why: output review asks which registered work an image is nearest to before it is signed.
Each asset gets one ``asset_fingerprint`` row when it is registered: the fingerprint
version, the 64-bit perceptual hash (hex) and the dense descriptor (float32 bytes) the
similarity index is rebuilt from, with status ``indexed``; or ``skipped`` with the reason
(bytes that are not a decodable image). The asset's bytes are never stored, only these.
Assets registered before this step have no bytes on record to fingerprint, so each gets a
``skipped`` row saying so: re-registering its bytes fingerprints it.

``watchlist_entry`` marks an asset as a protected work outputs must not imitate (a
third-party franchise, a living artist's work), registered by legal; it is never a training
member or a reference, and its licence (if any) never covers output use. A separate table,
not a column on ``asset``, so the asset's own row and every older reader stay as they were.

``look_reference`` names the assets a production approved as its look (production, asset),
added by legal or that production's producer.

The tables are created only if absent (as steps 17 and 18); the skipped rows are written
only for assets without one.
"""

from __future__ import annotations

from datetime import datetime, timezone

import peewee

from ..db import database
from .frozen import FrozenModel, sql

VERSION = 20
DESCRIPTION = "registry: asset fingerprints (indexed or skipped), the watchlist, productions' look references"
BEFORE = "registered before fingerprinting: re-register its bytes to fingerprint it"


class Asset(FrozenModel):
    """The asset table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "asset"


class Production(FrozenModel):
    """The production table (step 1), only as the target of a foreign key."""

    class Meta:
        table_name = "production"


class AssetFingerprint(FrozenModel):
    asset = peewee.ForeignKeyField(Asset, unique=True, on_delete="CASCADE")
    version = peewee.CharField(max_length=100, null=True)
    phash = peewee.CharField(max_length=16, null=True)
    descriptor = peewee.BlobField(null=True)
    status = peewee.CharField(max_length=20, index=True)
    reason = peewee.TextField(null=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "asset_fingerprint"


class WatchlistEntry(FrozenModel):
    asset = peewee.ForeignKeyField(Asset, unique=True, on_delete="RESTRICT")
    note = peewee.TextField(default="")
    registered_by = peewee.CharField(max_length=200, null=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "watchlist_entry"


class LookReference(FrozenModel):
    production = peewee.ForeignKeyField(Production, on_delete="CASCADE")
    asset = peewee.ForeignKeyField(Asset, on_delete="RESTRICT")
    added_by = peewee.CharField(max_length=200, null=True)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "look_reference"
        indexes = ((("production", "asset"), True),)


def apply() -> None:
    database.create_tables([AssetFingerprint, WatchlistEntry, LookReference])
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    sql("INSERT INTO asset_fingerprint (asset_id, status, reason, created_at) "
        "SELECT id, 'skipped', ?, ? FROM asset WHERE id NOT IN (SELECT asset_id FROM asset_fingerprint)",
        BEFORE, now)
