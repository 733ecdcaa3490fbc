"""Versioned schema migrations.

The schema changes only through the steps listed in ``STEPS``, applied in order, each in
its own transaction, and recorded in ``schema_version``. Each step is a module of this
package (``vNN_<what>.py``) holding ``VERSION``, ``DESCRIPTION`` and ``apply``, with a
docstring that says why the step exists.

A step is frozen once it has shipped: it states the tables, columns and indexes it
creates or alters (``playhouse.migrate`` operations, or peewee classes declared inside the
step) and the SQL of any data it rewrites, and never imports today's models
(``governance.*.tables``) or domain code, whose later versions would silently change what
an old step does. What several steps need is in ``frozen.py``. A change is a new step.

``tests/test_migrations.py`` checks every step against the schema its shipped code
created (``tests/schema/``), a fresh database against today's models, and an upgrade to
head from every earlier version with data in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import peewee

from ..db import BaseModel, database, transaction
from ..fields import UTCDateTimeField
from . import (
    v01_registry,
    v02_policy,
    v03_credentials_ledger,
    v04_auth,
    v05_audit,
    v06_jobs,
    v07_provenance,
    v08_ledger_model_refs,
    v09_shared_facts,
    v10_rights_ownership,
    v11_job_leases,
    v12_utc_datetimes,
    v13_defaults_as_declared,
    v14_catalogue,
    v15_signoffs,
    v16_consent_credits,
    v17_worker_keys,
    v18_reproductions,
    v19_reproduction_samples,
    v20_fingerprints,
    v21_output_reviews,
    v22_soft_bindings,
    v23_identity_certificates,
    v24_base_models,
    v25_training_clearance,
    v26_training_runs,
    v27_performer_terms,
    v28_use_events,
    v29_signoffs_per_decision,
    v30_credits_and_resubmissions,
    v31_policy_review,
    v32_audit_browsing,
    v33_referenced_assets,
    v34_checkpoint_frontiers,
    v35_person_name_first,
)


class SchemaVersion(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    description = peewee.CharField(max_length=200)
    applied_at = UTCDateTimeField()


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[], None]

    @classmethod
    def of(cls, module: ModuleType) -> Step:
        return cls(module.VERSION, module.DESCRIPTION, module.apply)


STEPS: list[Step] = [Step.of(m) for m in (
    v01_registry, v02_policy, v03_credentials_ledger, v04_auth, v05_audit, v06_jobs, v07_provenance,
    v08_ledger_model_refs, v09_shared_facts, v10_rights_ownership, v11_job_leases, v12_utc_datetimes,
    v13_defaults_as_declared, v14_catalogue, v15_signoffs, v16_consent_credits, v17_worker_keys,
    v18_reproductions, v19_reproduction_samples, v20_fingerprints,
    v21_output_reviews, v22_soft_bindings, v23_identity_certificates, v24_base_models, v25_training_clearance,
    v26_training_runs, v27_performer_terms, v28_use_events, v29_signoffs_per_decision,
    v30_credits_and_resubmissions, v31_policy_review, v32_audit_browsing, v33_referenced_assets,
    v34_checkpoint_frontiers, v35_person_name_first)]


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
    """Apply every step above the current version (up to ``target``); return those applied.

    Each step and its ``schema_version`` row commit together or not at all, so a failed
    step leaves the database at the version before it.
    """
    from ..clock import utcnow
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
