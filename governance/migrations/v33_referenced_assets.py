"""Step 33: which assets some recorded request named as a reference, kept as rows.

Why: output review labels each registered work it finds near a new image by where it came
from (watchlist, training set, a request's reference, other). "Was it ever a request's
reference" was a ``LIKE`` over every request's JSON list of references, for every image
signed: 236 ms at 200,000 requests, growing with the studio's history, inside ``/sign``.
``referenced_asset`` holds one row per asset SHA-256 that any request named, added when the
request is recorded; here it is filled once from the requests already recorded, a batch at a
time. Created only if absent.
"""

from __future__ import annotations

import json

import peewee

from ..db import database
from .frozen import FrozenModel, sql

VERSION = 33
DESCRIPTION = "output review: referenced_asset (every asset a request named as a reference), filled from the requests"
BATCH = 5_000


class ReferencedAsset(FrozenModel):
    asset_sha256 = peewee.CharField(max_length=64, primary_key=True)

    class Meta:
        table_name = "referenced_asset"


def apply() -> None:
    if database.table_exists("referenced_asset"):
        return
    database.create_tables([ReferencedAsset])
    last = 0
    while True:
        rows = sql('SELECT id, "references" FROM generation_request WHERE id > ? ORDER BY id LIMIT ?',
                   last, BATCH).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        shas = sorted({str(s) for _, text in rows for s in (json.loads(text or "[]") or []) if isinstance(s, str)})
        # 500 rows a statement: within the parameter limit of any SQLite build
        for start in range(0, len(shas), 500):
            ReferencedAsset.insert_many([(s,) for s in shas[start:start + 500]],
                                        fields=[ReferencedAsset.asset_sha256]).on_conflict_ignore().execute()
