"""Step 22: each signed output's soft bindings, and the manifest repository.

Why: a copy of an output whose metadata was stripped (every social platform does it) has
lost its C2PA manifest, and with it the link to its credential. Slate now embeds an
invisible watermark carrying a lookup id before signing and fingerprints the signed pixels;
``output_binding`` keeps, per output, that id (unique; NULL where no watermark was embedded),
the fingerprint version, the perceptual hash and the dense descriptor the outputs'
similarity index is rebuilt from, so verification can find the output a copy came from.
``manifest_store`` keeps every manifest store Slate signed (the bytes c2pa returns,
served as ``application/c2pa``) by its manifest label: the manifest repository the soft
binding resolution endpoints answer from, even after the file itself was stripped.

Outputs signed before this step have no row: they carry no watermark and were never
fingerprinted at signing, so they are recovered only while their manifest is embedded.
The tables are created only if absent, as steps 17 to 21 do.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 22
DESCRIPTION = "ledger: outputs' soft bindings (watermark id, fingerprint) and the manifest repository"


class OutputBinding(FrozenModel):
    output_sha256 = peewee.CharField(max_length=64, unique=True)
    manifest_label = peewee.CharField(max_length=200, index=True)
    watermark_id = peewee.CharField(max_length=12, unique=True, null=True)
    watermark_alg = peewee.CharField(max_length=100, null=True)
    fingerprint_version = peewee.CharField(max_length=100)
    phash = peewee.CharField(max_length=16)
    descriptor = peewee.BlobField()
    width = peewee.IntegerField()
    height = peewee.IntegerField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "output_binding"


class ManifestStore(FrozenModel):
    manifest_label = peewee.CharField(max_length=200, unique=True)
    output_sha256 = peewee.CharField(max_length=64, index=True)
    data = peewee.BlobField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "manifest_store"


def apply() -> None:
    database.create_tables([OutputBinding, ManifestStore])
