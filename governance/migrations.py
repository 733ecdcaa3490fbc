"""Versioned schema migrations.

The schema changes only through the steps listed in ``STEPS``, applied in order and
recorded in ``schema_version``. A step is never edited after it has shipped: a change
is a new step (using ``playhouse.migrate`` for alterations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import peewee

from .db import BaseModel, database, transaction
from .fields import UTCDateTimeField


class SchemaVersion(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    description = peewee.CharField(max_length=200)
    applied_at = UTCDateTimeField()


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[], None]


def _tables(module: str) -> Callable[[], None]:
    def apply() -> None:
        import importlib
        database.create_tables(importlib.import_module(module).TABLES)
    return apply


def _model(module: str, name: str) -> type[BaseModel]:
    import importlib
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _provenance() -> None:
    from .provenance import index
    _tables("governance.provenance.tables")()
    index.backfill()  # outputs signed before this step become searchable too


def _ledger_model_refs() -> None:
    from .audit.log import record
    from .ledger.records import normalise_model_refs
    changed = normalise_model_refs()
    if changed:  # the ledger is part of the record: say that rows were rewritten, and how
        record("ledger.model_refs_normalised", "ledger:output",
               {"rows": changed, "from": "NAME@VERSION", "to": "NAME:VERSION",
                "source": "model name and version of each row's recorded governance assertion"})


STEPS: list[Step] = [
    Step(1, "registry: people, productions, consents, assets, licences, training sets, models",
         _tables("governance.registry.tables")),
    Step(2, "policy: policy versions, reviews, requests, decisions", _tables("governance.policy.tables")),
    Step(3, "credentials: signing keys, revocations; ledger of signed outputs",
         _tables("governance.credentials.tables")),
    Step(4, "auth: users, memberships, API tokens", _tables("governance.auth.tables")),
    Step(5, "audit: hash-chained log and signed checkpoints", _tables("governance.audit.tables")),
    Step(6, "jobs: approvals, generation jobs, idempotency records", _tables("governance.jobs.tables")),
    Step(7, "provenance: facets of signed outputs for search and revocation impact", _provenance),
    Step(8, "ledger: model refs as NAME:VERSION, the registry's form", _ledger_model_refs),
    Step(9, "policy: training-set facts stored once and shared by the decisions relying on them",
         lambda: database.create_tables([_model("governance.policy.tables", "SharedFacts")])),
]


def register_step(step: Step) -> None:
    """Let a subsystem add its step; versions must be unique and increasing."""
    if any(s.version == step.version for s in STEPS):
        raise ValueError(f"migration {step.version} already exists")
    STEPS.append(step)
    STEPS.sort(key=lambda s: s.version)


def current_version() -> int:
    if not database.table_exists("schema_version"):
        return 0
    row = SchemaVersion.select(peewee.fn.MAX(SchemaVersion.version)).scalar()
    return int(row or 0)


def migrate(target: int | None = None) -> list[Step]:
    """Apply every step above the current version (up to ``target``); return those applied."""
    from .clock import utcnow
    database.create_tables([SchemaVersion])
    applied: list[Step] = []
    have = current_version()
    for step in STEPS:
        if step.version <= have or (target is not None and step.version > target):
            continue
        with transaction():
            step.apply()
            SchemaVersion.create(version=step.version, description=step.description,
                                 applied_at=utcnow())
        applied.append(step)
    return applied
