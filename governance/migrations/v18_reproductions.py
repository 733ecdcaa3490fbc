"""Step 18: the reproduction audit's results, one row per audit of an output.

Why: an output's recorded job can be made again and compared with the pixels the ledger
points at (``slate output reproduce``). Each result is kept (``reproduction``): the output,
its job, the worker that made it, who asked, the verdict (``reproduced``, ``close`` or
``differs``), the distance measured and why. The latest result of an output decides its
standing: a ``differs`` means the ledger no longer points at what the recorded job makes,
and verification reports the output not in good standing.

The table is created only if absent, as step 17 does: nothing existed before to move.
"""

from __future__ import annotations

import peewee

from ..db import database
from .frozen import FrozenModel

VERSION = 18
DESCRIPTION = "ledger: reproduction audits of outputs (reproduced, close, differs)"


class Reproduction(FrozenModel):
    output_sha256 = peewee.CharField(max_length=64, index=True)
    job_id = peewee.CharField(max_length=100)
    worker = peewee.CharField(max_length=200, null=True)
    requested_by = peewee.CharField(max_length=200)
    verdict = peewee.CharField(max_length=20)
    distance = peewee.FloatField(null=True)
    reason = peewee.TextField()
    at = peewee.DateTimeField(index=True)

    class Meta:
        table_name = "reproduction"


def apply() -> None:
    database.create_tables([Reproduction])
