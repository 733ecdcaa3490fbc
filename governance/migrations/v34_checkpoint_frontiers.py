"""Step 34: each audit checkpoint keeps the Merkle frontier of the tree it signs.

Why: a checkpoint's root was extended from the previous checkpoint's frontier only where the
same process had signed that checkpoint; every freshly started process (each gunicorn
worker after a deploy, each ``slate worker``, housekeeping) read and hashed the whole log
for its first checkpoint, inside the transaction that signs an output: seconds at millions of
entries, with SQLite's write lock held. ``audit_checkpoint.frontier`` (``rfc6962.Frontier``
as text, at most 64 hashes) lets any process extend the newest checkpoint. NULL for the
checkpoints signed before this step: the first checkpoint after it reads the log once, as
before. Added only where missing, as earlier steps do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database

VERSION = 34
DESCRIPTION = "audit: a checkpoint's Merkle frontier (the next checkpoint extends it without reading the log)"


def apply() -> None:
    if "frontier" not in {c.name for c in database.get_columns("audit_checkpoint")}:
        run(SchemaMigrator.from_database(database.obj).add_column("audit_checkpoint", "frontier",
                                                                  peewee.TextField(null=True)))
