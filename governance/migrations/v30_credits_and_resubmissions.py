"""Step 30: credits owed per production, and which request a request resubmits.

Why: the producer's search filters by use, which outputs indexed before had no facet for:
each gains a ``use`` facet from its request (new outputs get one when signed). The
credits-owed page lists, for a production, every consent and licence whose
credit line its signed outputs must carry, with how many outputs rely on each. Counting
that from the facets at read time walks every output of the production (a million, for a
big one); ``credit_tally`` keeps the count instead: one row per (production, consent or
licence), incremented when an output is indexed (in the signing transaction), filled here
once from the facets already recorded. ``generation_request.resubmission_of`` (indexed: the
original's page finds its resubmissions) names the denied request a producer edited and
submitted again (NULL for every request before).
Columns are added only where missing, tables only if absent, as earlier steps do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel, sql

VERSION = 30
DESCRIPTION = ("provenance: use facets for outputs signed before; credit_tally (filled from the facets); "
               "generation_request.resubmission_of (indexed)")


class CreditTally(FrozenModel):
    production = peewee.CharField(max_length=120)
    subject_kind = peewee.CharField(max_length=10)
    subject_id = peewee.IntegerField()
    outputs = peewee.IntegerField(default=0)

    class Meta:
        table_name = "credit_tally"
        indexes = ((("production", "subject_kind", "subject_id"), True),)


def apply() -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    have = {c.name for c in database.get_columns("generation_request")}
    if "resubmission_of" not in have:
        run(migrator.add_column("generation_request", "resubmission_of", peewee.IntegerField(null=True)))
    if "generation_request_resubmission_of" not in {i.name for i in database.get_indexes("generation_request")}:
        run(migrator.add_index("generation_request", ("resubmission_of",), False))
    if database.table_exists("credit_tally"):
        return
    # outputs indexed before this step gain their request's use as a facet (search by use)
    sql("INSERT INTO output_facet (kind, value, signed_at, output_id) "
        "SELECT 'use', r.use, o.signed_at, o.id FROM output o "
        "JOIN generation_request r ON CAST(r.id AS VARCHAR(100)) = o.request_id "
        "WHERE EXISTS (SELECT 1 FROM output_facet a WHERE a.kind = 'all' AND a.value = '' "
        "AND a.signed_at = o.signed_at AND a.output_id = o.id)")
    database.create_tables([CreditTally])
    sql("INSERT INTO credit_tally (production, subject_kind, subject_id, outputs) "
        "SELECT p.value, c.kind, CAST(c.value AS INTEGER), COUNT(*) FROM output_facet p "
        "JOIN output_facet c ON c.output_id = p.output_id AND c.signed_at = p.signed_at "
        "WHERE p.kind = 'production' AND c.kind IN ('consent', 'licence') "
        "GROUP BY p.value, c.kind, c.value")
