"""Step 31: legal's review verdicts, rollbacks and test cases kept in the database.

Why: a reviewer could approve a draft but not reject it or send it back; legal could not roll
back to an earlier text, nor keep test cases anywhere but files on the server. Statuses
``rejected`` and ``changes_requested`` need no DDL (the column is free text); a version gains
``rollback_of`` (the id of the earlier version whose text it re-publishes; NULL otherwise),
added only where missing as earlier steps do, and ``policy_test_case`` holds legal's cases
(one tests document per uid and name).
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel

VERSION = 31
DESCRIPTION = "policy: a version's rollback_of; policy_test_case (legal's test cases kept in the database)"


class PolicyTestCase(FrozenModel):
    uid = peewee.CharField(max_length=200, index=True)
    name = peewee.CharField(max_length=200)
    body = peewee.TextField()
    author = peewee.CharField(max_length=200)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    updated_by = peewee.CharField(max_length=200)

    class Meta:
        table_name = "policy_test_case"
        indexes = ((("uid", "name"), True),)


def apply() -> None:
    if "rollback_of" not in {c.name for c in database.get_columns("policy_version")}:
        run(SchemaMigrator.from_database(database.obj).add_column("policy_version", "rollback_of",
                                                                  peewee.IntegerField(null=True)))
    database.create_tables([PolicyTestCase], safe=True)
