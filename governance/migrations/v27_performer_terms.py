"""Step 27: performers' terms on a consent (SAG-AFTRA 2023 style), and a person's date of death.

Why: a union performer's consent to a digital replica is specific: the kind of replica
(``replica_type``: employment_based, independently_created, background, synthetic), the use
described in words (``use_description``, hashed into every decision that relies on it and
shown to the approver), when the performer was given notice (``notice_given_at``, UTC), and,
for a performer who has died, the estate's consent (``estate_consent``, FALSE for every
consent recorded before, which said nothing of it, and ``estate_representative``). A person
gains ``deceased_on`` (NULL: living, or not known to have died). Consents recorded before this
step have no replica type, description or notice: the policy sees them missing, which is
what they are. Columns are added only where missing, as steps 15 to 26 do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database

VERSION = 27
DESCRIPTION = ("registry: consent.replica_type, use_description, notice_given_at, estate_consent (FALSE), "
               "estate_representative; person.deceased_on")


def _consent_columns() -> list[tuple[str, peewee.Field]]:
    return [("replica_type", peewee.CharField(max_length=40, null=True)),
            ("use_description", peewee.TextField(null=True)),
            ("notice_given_at", peewee.DateTimeField(null=True)),
            ("estate_consent", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])),
            ("estate_representative", peewee.CharField(max_length=200, null=True))]


def _add_missing(table: str, columns: list[tuple[str, peewee.Field]]) -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns(table)}
    for name, column in columns:
        if name not in have:
            run(migrator.add_column(table, name, column, allow_not_null=not column.null))


def apply() -> None:
    _add_missing("consent", _consent_columns())
    _add_missing("person", [("deceased_on", peewee.DateField(null=True))])
