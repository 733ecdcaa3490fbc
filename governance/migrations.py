"""Versioned schema migrations.

The schema changes only through the steps listed in ``STEPS``, applied in order and
recorded in ``schema_version``. A step is never edited after it has shipped: a change
is a new step (using ``playhouse.migrate`` for alterations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

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


def _rights_ownership() -> None:
    """Step 10, written out in full: it names its tables and columns here instead of
    importing today's models, so what it does cannot drift when the models change later.

    Step 1 creates the registry from today's models, so on a fresh database these columns
    exist already: each addition is made only where it is missing. Then the rows recorded
    before ownership existed are given what the new rules need (``_rights_backfill``).
    """
    from playhouse.migrate import SchemaMigrator, migrate as run

    from .fields import JSONField as _JSON

    class _Frozen(peewee.Model):
        class Meta:
            database = database
            legacy_table_names = False

    class Production(_Frozen):
        name = peewee.CharField(max_length=120, unique=True)

    class Person(_Frozen):
        name = peewee.CharField(max_length=200, unique=True)

    class PersonProduction(_Frozen):
        person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
        production = peewee.ForeignKeyField(Production, on_delete="CASCADE")

        class Meta:
            indexes = ((("person", "production"), True),)

    class ConsentDocument(_Frozen):
        sha256 = peewee.CharField(max_length=64, unique=True)
        media_type = peewee.CharField(max_length=100)
        size_bytes = peewee.BigIntegerField()
        signed = peewee.BooleanField(default=False)
        signers = _JSON()
        recorded_by = peewee.CharField(max_length=200, null=True)
        recorded_at = UTCDateTimeField()

    database.create_tables([PersonProduction, ConsentDocument], safe=True)
    migrator = SchemaMigrator.from_database(database.obj)
    wanted = {
        "consent": [
            ("guardian_relationship", peewee.CharField(max_length=100, null=True)),
            ("document_stored", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])),
            ("recorded_by", peewee.CharField(max_length=200, null=True)),
            # the backfill decides which older rows must wait for a second legal user
            ("status", peewee.CharField(max_length=20, default="confirmed",
                                        constraints=[peewee.SQL("DEFAULT 'confirmed'")])),
            ("confirmed_by", peewee.CharField(max_length=200, null=True)),
            ("confirmed_at", UTCDateTimeField(null=True)),
        ],
        "asset": [("production_id", peewee.ForeignKeyField(Production, null=True, on_delete="RESTRICT",
                                                            field=Production.id)),
                  ("library", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")]))],
    }
    for table, columns in wanted.items():
        have = {c.name for c in database.get_columns(table)}
        for name, column in columns:
            if name not in have:
                # NOT NULL columns carry a DEFAULT in their DDL, so no table is rebuilt
                run(migrator.add_column(table, name, column, allow_not_null=not column.null))
    if "consent_status" not in {i.name for i in database.get_indexes("consent")}:
        run(migrator.add_index("consent", ("status",), False))
    _rights_backfill()


def _rights_backfill() -> None:
    """Rows from before step 10, under the new rules, decided from what the record shows:

    - who recorded each consent (its audit entry's actor); a minor's or a likeness consent
      not recorded by a legal user waits for a second legal user (``pending``), so a consent a
      producer recorded before ownership existed stops counting until legal confirms it;
    - which production each asset belongs to: the one production whose requests used it, or
      the one production of the producer who registered it; an asset legal, an admin or the
      operator registered, or that several productions used, joins the studio library; any
      other stays visible to studio-wide roles only until legal assigns it;
    - which productions each person takes part in: those their consents name.

    One audit entry lists what was decided. Plain SQL throughout (quoted names, portable).
    """
    import json

    users = {name: set(json.loads(roles or "[]"))
             for name, roles in database.execute_sql('SELECT name, roles FROM "user"').fetchall()}
    memberships: dict[str, set[int]] = {}
    for name, production_id in database.execute_sql(
            'SELECT u.name, m.production_id FROM membership m JOIN "user" u ON u.id = m.user_id').fetchall():
        memberships.setdefault(name, set()).add(int(production_id))
    productions = dict(database.execute_sql("SELECT name, id FROM production").fetchall())
    actors = _registered_by("consent.granted") | _registered_by("asset.registered")
    pending = _consents_awaiting_confirmation(users, actors)
    assigned, library = _asset_owners(users, memberships, productions, actors)
    linked = _people_in_productions(productions)
    if pending or assigned or library or linked:
        from .audit.log import record
        record("registry.ownership_backfilled", "registry",
               {"consents_pending": pending, "assets_assigned": len(assigned), "assets_in_library": len(library),
                "people_linked": linked,
                "rule": "step 10: unconfirmed minors' and likeness consents wait for a second legal user; "
                        "assets belong to the production that used or registered them"})


def _sql(text: str, *params: object) -> Any:
    """Run ``text`` with ``?`` placeholders in the database's own parameter style."""
    return database.execute_sql(text.replace("?", database.obj.param), params)


def _registered_by(action: str) -> dict[str, str]:
    """subject -> actor of the first audit entry with ``action`` (what the record says)."""
    out: dict[str, str] = {}
    for subject, actor in _sql("SELECT subject, actor FROM audit_entry WHERE action = ? ORDER BY seq",
                               action).fetchall():
        out.setdefault(subject, actor)
    return out


def _consents_awaiting_confirmation(users: dict[str, set[str]], actors: dict[str, str]) -> list[int]:
    import json
    pending = []
    rows = database.execute_sql(
        "SELECT c.id, c.uses, p.is_minor, c.recorded_by FROM consent c JOIN person p ON p.id = c.person_id "
        "WHERE c.revoked_at IS NULL AND c.confirmed_by IS NULL").fetchall()
    for consent_id, uses, is_minor, recorded_by in rows:
        actor = recorded_by or actors.get(f"consent:{consent_id}")
        if recorded_by is None and actor:
            _sql("UPDATE consent SET recorded_by = ? WHERE id = ?", actor, consent_id)
        protected = bool(is_minor) or "likeness" in json.loads(uses or "[]")
        if protected and "legal" not in users.get(actor or "", set()):
            _sql("UPDATE consent SET status = 'pending' WHERE id = ?", consent_id)
            pending.append(int(consent_id))
    return pending


def _asset_owners(users: dict[str, set[str]], memberships: dict[str, set[int]], productions: dict[str, int],
                  actors: dict[str, str]) -> tuple[list[int], list[int]]:
    import json
    used_by: dict[str, set[int]] = {}
    for production, references in database.execute_sql(
            'SELECT production, "references" FROM generation_request').fetchall():
        for sha in json.loads(references or "[]"):
            if production in productions:
                used_by.setdefault(sha, set()).add(productions[production])
    assigned, library = [], []
    for asset_id, sha in database.execute_sql(
            "SELECT id, sha256 FROM asset WHERE production_id IS NULL AND library = FALSE").fetchall():
        users_of = used_by.get(sha, set())
        actor = actors.get(f"asset:{sha}", "")
        roles = users.get(actor, set())
        owner = None
        if len(users_of) == 1:
            owner = next(iter(users_of))
        elif not users_of and roles == {"producer"} and len(memberships.get(actor, set())) == 1:
            owner = next(iter(memberships[actor]))
        if owner is not None:
            _sql("UPDATE asset SET production_id = ? WHERE id = ?", owner, asset_id)
            assigned.append(int(asset_id))
        elif len(users_of) > 1 or "producer" not in roles:
            _sql("UPDATE asset SET library = TRUE WHERE id = ?", asset_id)
            library.append(int(asset_id))
    return assigned, library


def _people_in_productions(productions: dict[str, int]) -> int:
    """A person takes part in the productions their consents name (a '*' consent names none)."""
    import json
    links = set()
    for person_id, scope in database.execute_sql("SELECT person_id, productions FROM consent").fetchall():
        for name in json.loads(scope or "[]"):
            if name in productions:
                links.add((int(person_id), int(productions[name])))
    existing = set(database.execute_sql("SELECT person_id, production_id FROM person_production").fetchall())
    for person_id, production_id in sorted(links - existing):
        _sql("INSERT INTO person_production (person_id, production_id) VALUES (?, ?)", person_id, production_id)
    return len(links - existing)


def _job_leases() -> None:
    """Step 11, written out in full: a job's claim lease, as an explicit column added with
    ``playhouse.migrate``. The column is named and typed here rather than taken from the
    ``Job`` model, and no ``create_tables`` runs on today's models, so what this step does
    cannot drift when the model changes later (it would create whatever the model holds by
    then, on some databases and not others).

    Step 6 creates the jobs table from today's model, so on a fresh database the column is
    there already: it is added only where it is missing. Jobs left running before this step
    have no lease, which counts as lapsed: any worker may claim them again.
    """
    from playhouse.migrate import SchemaMigrator, migrate as run

    if "lease_expires_at" not in {c.name for c in database.get_columns("job")}:
        migrator = SchemaMigrator.from_database(database.obj)
        run(migrator.add_column("job", "lease_expires_at", UTCDateTimeField(null=True)))


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
    Step(10, "registry: people's productions, assets' production, consents' four eyes and stored documents",
         _rights_ownership),
    Step(11, "jobs: job.lease_expires_at, a claim's lease, so one worker at a time holds a job and reads "
             "its prompt; an explicit add_column, frozen here, not today's Job model", _job_leases),
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
