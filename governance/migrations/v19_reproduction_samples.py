"""Step 19: outputs sampled for a reproduction on another worker, and who made each
reproduction's image.

Why: a reproduction on the server's own generator checks the ledger, but not the worker
that made the image: a compromised worker host that made its pixels some other way, then
receipted them, is found only by having a *different* worker make the recorded job again.
With sampling on (``SLATE_REPRODUCTION_SAMPLE_RATE``), signing an output may leave a
``reproduction_sample`` row: waiting until a worker other than the original claims it under
a lease (as jobs are claimed, step 11), then done with the verdict. Each reproduction now
records whose generator made its image (``reproduction.reproduced_by``; NULL: the server's
own, as every audit before this step) and that worker's receipt for it
(``reproduction.receipt``).

The columns are added only where missing and the table only if absent, as steps 17 and 18 do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel

VERSION = 19
DESCRIPTION = ("ledger: outputs sampled for reproduction on another worker; "
               "reproduction.reproduced_by, reproduction.receipt")


class ReproductionSample(FrozenModel):
    id = peewee.CharField(max_length=100, primary_key=True)
    output_sha256 = peewee.CharField(max_length=64, index=True)
    job_id = peewee.CharField(max_length=100)
    original_worker = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=20, index=True)
    claimed_by = peewee.CharField(max_length=200, null=True)
    lease_expires_at = peewee.DateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    verdict = peewee.CharField(max_length=20, null=True)
    created_at = peewee.DateTimeField(index=True)
    finished_at = peewee.DateTimeField(null=True)
    last_sent_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "reproduction_sample"


def _columns() -> list[tuple[str, peewee.Field]]:
    return [("reproduced_by", peewee.CharField(max_length=200, null=True)),
            ("receipt", peewee.TextField(null=True))]


def apply() -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("reproduction")}
    for name, column in _columns():
        if name not in have:
            run(migrator.add_column("reproduction", name, column))
    database.create_tables([ReproductionSample])
