"""Step 16: a performer's own credit terms on their consent, and one job per request.

Why: a consent is a contract like a licence, and performers' contracts say how they are
credited: whether the output must credit them (``attribution_required``, FALSE for every
consent recorded before, which said nothing of it), the credit line (``credit_text``), and
which output uses the consent allows (``output_uses``, JSON text; NULL means every use, as
every consent recorded before did). The policy turns them into credit duties like a
licence's, and may refuse a use the consent does not allow.

A request has at most one job: sign-offs given at the same moment are serialised on the
request's row, and a unique index on ``job.request_id`` makes a second job impossible
even so (it replaces the foreign key's plain index of the same name).
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from ..errors import ConfigurationError
from .frozen import sql

VERSION = 16
DESCRIPTION = ("registry: consent.credit_text, consent.attribution_required (FALSE), consent.output_uses (JSON, "
               "NULL = every use); jobs: one job per request (unique job.request_id)")


def _columns() -> list[tuple[str, peewee.Field]]:
    return [
        ("credit_text", peewee.TextField(null=True)),
        ("attribution_required", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])),
        ("output_uses", peewee.TextField(null=True)),
    ]


def apply() -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("consent")}
    for name, column in _columns():
        if name not in have:
            run(migrator.add_column("consent", name, column, allow_not_null=not column.null))
    twice = sql('SELECT request_id FROM "job" GROUP BY request_id HAVING COUNT(*) > 1').fetchall()
    if twice:
        raise ConfigurationError(f"{len(twice)} request(s) hold more than one job (first: request #{twice[0][0]}); "
                                 "the migration was rolled back",
                                 hint="keep one job per request (the one that ran), then migrate again")
    for index in database.get_indexes("job"):
        if list(index.columns) == ["request_id"] and not index.unique:
            sql(f'DROP INDEX "{index.name}"')
    if not any(i.unique and list(i.columns) == ["request_id"] for i in database.get_indexes("job")):
        sql('CREATE UNIQUE INDEX "job_request_id" ON "job" ("request_id")')
