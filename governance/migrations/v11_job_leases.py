"""Step 11: a job's claim lease (78633cf, migration from c3118e7).

Why: one worker at a time holds a job and reads its prompt; its claim lasts until
``lease_expires_at``, which it extends while it works, and after which another worker may
claim the job. An explicit nullable column: jobs left running before this step have no
lease, which counts as lapsed, so any worker may claim them again.

A database first created by the code of 78633cf up to this package has the column already
(that code's step 6 created the jobs table from the model of the day), so it is added only
where it is missing.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database

VERSION = 11
DESCRIPTION = ("jobs: job.lease_expires_at, a claim's lease, so one worker at a time holds a job and reads "
               "its prompt; an explicit add_column, frozen here, not today's Job model")


def apply() -> None:
    if "lease_expires_at" not in {c.name for c in database.get_columns("job")}:
        migrator = SchemaMigrator.from_database(database.obj)
        run(migrator.add_column("job", "lease_expires_at", peewee.DateTimeField(null=True)))
