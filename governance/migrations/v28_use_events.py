"""Step 28: compensation terms and use caps, use counters, use events, production budgets.

Why: a performer's agreement or a licence may pay per output and may allow only so many
uses; a production may have a GPU-seconds budget and weeks in which nothing is generated
(picture lock). Consents and licences gain ``compensation`` (JSON, NULL = nothing owed)
and ``max_uses`` (NULL = no cap). ``usage_counter`` holds how many decided requests relied
on each consent and reference licence, changed in the decision's transaction;
``usage_reservation`` says which decision took which count (so a failed job gives back
exactly its own); ``use_event`` is one row per signed output and consent or licence with
compensation terms, unique per pair so a retried signing adds none; ``production_budget``
holds a production's GPU-seconds budget, what its outputs used and its blackout windows.
Columns are added only where missing, tables only if absent, as earlier steps do.
"""

from __future__ import annotations

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel

VERSION = 28
DESCRIPTION = ("registry: consent/licence compensation (JSON) and max_uses; usage counters and reservations, "
               "use events (unique per output and consent or licence), production GPU budgets and blackouts")


class UsageCounter(FrozenModel):
    subject_kind = peewee.CharField(max_length=10)
    subject_id = peewee.IntegerField()
    uses = peewee.IntegerField(default=0)
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "usage_counter"
        indexes = ((("subject_kind", "subject_id"), True),)


class UsageReservation(FrozenModel):
    decision_id = peewee.IntegerField(index=True)
    subject_kind = peewee.CharField(max_length=10)
    subject_id = peewee.IntegerField()
    uses_before = peewee.IntegerField()
    created_at = peewee.DateTimeField()
    released_at = peewee.DateTimeField(null=True)
    released_reason = peewee.TextField(null=True)

    class Meta:
        table_name = "usage_reservation"
        indexes = ((("decision_id", "subject_kind", "subject_id"), True),)


class UseEvent(FrozenModel):
    output_sha256 = peewee.CharField(max_length=64, index=True)
    production = peewee.CharField(max_length=120, index=True)
    request_id = peewee.IntegerField()
    decision_id = peewee.IntegerField()
    subject_kind = peewee.CharField(max_length=10)
    subject_id = peewee.IntegerField()
    subject_version = peewee.IntegerField(null=True)
    subject_ref = peewee.CharField(max_length=200)
    payee = peewee.CharField(max_length=300)
    terms = peewee.TextField()
    amount = peewee.CharField(max_length=40)
    currency = peewee.CharField(max_length=3)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "use_event"
        indexes = ((("output_sha256", "subject_kind", "subject_id"), True),)


class ProductionBudget(FrozenModel):
    production = peewee.CharField(max_length=120, unique=True)
    gpu_seconds_budget = peewee.FloatField(null=True)
    gpu_seconds_used = peewee.FloatField(default=0.0)
    blackouts = peewee.TextField(default="[]")
    updated_at = peewee.DateTimeField()

    class Meta:
        table_name = "production_budget"


def _columns() -> list[tuple[str, peewee.Field]]:
    return [("compensation", peewee.TextField(null=True)), ("max_uses", peewee.IntegerField(null=True))]


def apply() -> None:
    migrator = SchemaMigrator.from_database(database.obj)
    for table in ("consent", "licence"):
        have = {c.name for c in database.get_columns(table)}
        for name, column in _columns():
            if name not in have:
                run(migrator.add_column(table, name, column))
    database.create_tables([UsageCounter, UsageReservation, UseEvent, ProductionBudget], safe=True)
