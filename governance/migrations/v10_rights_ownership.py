"""Step 10: rights are owned and scoped (c3118e7, f3d22db).

Why: a producer must never create the facts that decide their own requests, and must see
only their productions. So a person takes part in productions (``person_production``), an
asset belongs to a production or to the studio's library, a minor's or a likeness consent
waits (``pending``) until a second legal user confirms it, a minor's consent names the
guardian's relationship, and signed consent documents are kept (``consent_document``).

The tables and columns are named and typed here. A database first created by the code of
c3118e7 up to this package (whose step 1 created the registry from the models of the
day) has them already, so each is added only where it is missing. NOT NULL columns carry
a DEFAULT in their DDL so no table is rebuilt (step 13 drops those defaults again). Then
the rows recorded before ownership existed are judged by the new rules from what the
record shows (``_backfill``), and one audit entry lists what was decided.
"""

from __future__ import annotations

import json

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import FrozenModel, append_audit_entry, sql

VERSION = 10
DESCRIPTION = "registry: people's productions, assets' production, consents' four eyes and stored documents"


class Production(FrozenModel):
    id = peewee.AutoField()
    name = peewee.CharField(max_length=120, unique=True)

    class Meta:
        table_name = "production"


class Person(FrozenModel):
    name = peewee.CharField(max_length=200, unique=True)

    class Meta:
        table_name = "person"


class PersonProduction(FrozenModel):
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    production = peewee.ForeignKeyField(Production, on_delete="CASCADE")

    class Meta:
        table_name = "person_production"
        indexes = ((("person", "production"), True),)


class ConsentDocument(FrozenModel):
    sha256 = peewee.CharField(max_length=64, unique=True)
    media_type = peewee.CharField(max_length=100)
    size_bytes = peewee.BigIntegerField()
    signed = peewee.BooleanField(default=False)
    signers = peewee.TextField()
    recorded_by = peewee.CharField(max_length=200, null=True)
    recorded_at = peewee.DateTimeField()

    class Meta:
        table_name = "consent_document"


def _columns() -> dict[str, list[tuple[str, peewee.Field]]]:
    return {
        "consent": [
            ("guardian_relationship", peewee.CharField(max_length=100, null=True)),
            ("document_stored", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")])),
            ("recorded_by", peewee.CharField(max_length=200, null=True)),
            # the backfill decides which older rows must wait for a second legal user
            ("status", peewee.CharField(max_length=20, default="confirmed",
                                        constraints=[peewee.SQL("DEFAULT 'confirmed'")])),
            ("confirmed_by", peewee.CharField(max_length=200, null=True)),
            ("confirmed_at", peewee.DateTimeField(null=True)),
        ],
        "asset": [("production_id", peewee.ForeignKeyField(Production, null=True, on_delete="RESTRICT",
                                                            field=Production.id)),
                  ("library", peewee.BooleanField(default=False, constraints=[peewee.SQL("DEFAULT FALSE")]))],
    }


def apply() -> None:
    database.create_tables([PersonProduction, ConsentDocument], safe=True)
    migrator = SchemaMigrator.from_database(database.obj)
    for table, columns in _columns().items():
        have = {c.name for c in database.get_columns(table)}
        for name, column in columns:
            if name not in have:
                run(migrator.add_column(table, name, column, allow_not_null=not column.null))
    if "consent_status" not in {i.name for i in database.get_indexes("consent")}:
        run(migrator.add_index("consent", ("status",), False))
    _backfill()


def _backfill() -> None:
    """Rows from before step 10, under the new rules, decided from what the record shows:

    - who recorded each consent (its audit entry's actor); a minor's or a likeness consent
      not recorded by a legal user waits for a second legal user (``pending``), so a consent a
      producer recorded before ownership existed stops counting until legal confirms it;
    - which production each asset belongs to: the one production whose requests used it, or
      the one production of the producer who registered it; an asset legal, an admin or the
      operator registered, or that several productions used, joins the studio library; any
      other stays visible to studio-wide roles only until legal assigns it;
    - which productions each person takes part in: those their consents name.
    """
    users = {name: set(json.loads(roles or "[]"))
             for name, roles in sql('SELECT name, roles FROM "user"').fetchall()}
    memberships: dict[str, set[int]] = {}
    for name, production_id in sql(
            'SELECT u.name, m.production_id FROM membership m JOIN "user" u ON u.id = m.user_id').fetchall():
        memberships.setdefault(name, set()).add(int(production_id))
    productions = dict(sql("SELECT name, id FROM production").fetchall())
    actors = _registered_by("consent.granted") | _registered_by("asset.registered")
    pending = _consents_awaiting_confirmation(users, actors)
    assigned, library = _asset_owners(users, memberships, productions, actors)
    linked = _people_in_productions(productions)
    if pending or assigned or library or linked:
        append_audit_entry("registry.ownership_backfilled", "registry",
                           {"consents_pending": pending, "assets_assigned": len(assigned),
                            "assets_in_library": len(library), "people_linked": linked,
                            "rule": "step 10: unconfirmed minors' and likeness consents wait for a second legal "
                                    "user; assets belong to the production that used or registered them"})


def _registered_by(action: str) -> dict[str, str]:
    """subject -> actor of the first audit entry with ``action`` (what the record says)."""
    out: dict[str, str] = {}
    for subject, actor in sql("SELECT subject, actor FROM audit_entry WHERE action = ? ORDER BY seq",
                              action).fetchall():
        out.setdefault(subject, actor)
    return out


def _consents_awaiting_confirmation(users: dict[str, set[str]], actors: dict[str, str]) -> list[int]:
    pending = []
    rows = sql("SELECT c.id, c.uses, p.is_minor, c.recorded_by FROM consent c JOIN person p ON p.id = c.person_id "
               "WHERE c.revoked_at IS NULL AND c.confirmed_by IS NULL").fetchall()
    for consent_id, uses, is_minor, recorded_by in rows:
        actor = recorded_by or actors.get(f"consent:{consent_id}")
        if recorded_by is None and actor:
            sql("UPDATE consent SET recorded_by = ? WHERE id = ?", actor, consent_id)
        protected = bool(is_minor) or "likeness" in json.loads(uses or "[]")
        if protected and "legal" not in users.get(actor or "", set()):
            sql("UPDATE consent SET status = 'pending' WHERE id = ?", consent_id)
            pending.append(int(consent_id))
    return pending


def _asset_owners(users: dict[str, set[str]], memberships: dict[str, set[int]], productions: dict[str, int],
                  actors: dict[str, str]) -> tuple[list[int], list[int]]:
    used_by: dict[str, set[int]] = {}
    for production, references in sql('SELECT production, "references" FROM generation_request').fetchall():
        for sha in json.loads(references or "[]"):
            if production in productions:
                used_by.setdefault(sha, set()).add(productions[production])
    assigned, library = [], []
    for asset_id, sha in sql("SELECT id, sha256 FROM asset WHERE production_id IS NULL AND library = FALSE").fetchall():
        users_of = used_by.get(sha, set())
        actor = actors.get(f"asset:{sha}", "")
        roles = users.get(actor, set())
        owner = None
        if len(users_of) == 1:
            owner = next(iter(users_of))
        elif not users_of and roles == {"producer"} and len(memberships.get(actor, set())) == 1:
            owner = next(iter(memberships[actor]))
        if owner is not None:
            sql("UPDATE asset SET production_id = ? WHERE id = ?", owner, asset_id)
            assigned.append(int(asset_id))
        elif len(users_of) > 1 or "producer" not in roles:
            sql("UPDATE asset SET library = TRUE WHERE id = ?", asset_id)
            library.append(int(asset_id))
    return assigned, library


def _people_in_productions(productions: dict[str, int]) -> int:
    """A person takes part in the productions their consents name (a '*' consent names none)."""
    links = set()
    for person_id, scope in sql("SELECT person_id, productions FROM consent").fetchall():
        for name in json.loads(scope or "[]"):
            if name in productions:
                links.add((int(person_id), int(productions[name])))
    existing = set(sql("SELECT person_id, production_id FROM person_production").fetchall())
    for person_id, production_id in sorted(links - existing):
        sql("INSERT INTO person_production (person_id, production_id) VALUES (?, ?)", person_id, production_id)
    return len(links - existing)
