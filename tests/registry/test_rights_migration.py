"""Migration step 10 on a database from before ownership existed (schema version 9), on
SQLite and PostgreSQL: columns added, and the old rows judged by the new rules from what
the record shows. A consent a producer recorded for a minor stops counting; an asset of one
production does not become every production's."""

from __future__ import annotations

import json
from pathlib import Path

import peewee
import pytest

from governance.audit.log import record
from governance.db import close_database, database, open_database, transaction
from governance.migrations import STEPS, current_version, migrate
from governance.settings import Settings

#: what step 10 adds: (table, column)
ADDED = [("consent", "guardian_relationship"), ("consent", "document_stored"), ("consent", "recorded_by"),
         ("consent", "status"), ("consent", "confirmed_by"), ("consent", "confirmed_at"),
         ("asset", "production_id"), ("asset", "library")]


def _as_version_9() -> None:
    """Take the step-10 tables and columns away again, as a database that stopped at 9 has them."""
    with transaction():
        database.execute_sql("DROP INDEX IF EXISTS consent_status")
        database.execute_sql("DROP TABLE person_production")
        database.execute_sql("DROP TABLE consent_document")
        for table, column in ADDED:
            if table == "asset" and isinstance(database.obj, peewee.SqliteDatabase):
                continue
            database.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        if isinstance(database.obj, peewee.SqliteDatabase):  # SQLite cannot drop a foreign-key column
            database.execute_sql(
                "CREATE TABLE asset_v9 (id INTEGER NOT NULL PRIMARY KEY, sha256 VARCHAR(64) NOT NULL UNIQUE, "
                "media_type VARCHAR(100) NOT NULL, title VARCHAR(300) NOT NULL, source VARCHAR(500) NOT NULL, "
                "size_bytes BIGINT NOT NULL, licence_id INTEGER REFERENCES licence (id) ON DELETE RESTRICT, "
                "created_at DATETIME NOT NULL)")
            database.execute_sql("DROP TABLE asset")
            database.execute_sql("ALTER TABLE asset_v9 RENAME TO asset")
        database.execute_sql("DELETE FROM schema_version WHERE version >= 10")
    assert current_version() == 9


def _sql(text: str, *params: object) -> list[tuple]:
    cursor = database.execute_sql(text.replace("?", database.obj.param), params)
    return cursor.fetchall() if cursor.description else []


def _seed_the_old_way() -> dict[str, int]:
    """Rows as the code before step 10 wrote them, each with the audit entry that named its actor."""
    now = "2026-06-01 10:00:00"
    with transaction():
        for name in ("harbour-lights", "northern-line"):
            _sql("INSERT INTO production (name, title, created_at) VALUES (?, '', ?)", name, now)
        for name, roles in (("lee", ["legal"]), ("pat", ["producer"]), ("nia", ["producer"]),
                            ("two-shows", ["producer"])):
            _sql('INSERT INTO "user" (name, roles, created_at) VALUES (?, ?, ?)', name, json.dumps(roles), now)
        for user, production in (("pat", 1), ("nia", 2), ("two-shows", 1), ("two-shows", 2)):
            _sql('INSERT INTO membership (user_id, production_id) VALUES ((SELECT id FROM "user" WHERE name = ?), ?)',
                 user, production)
        for name, minor in (("Mara Quinn", False), ("Kit Young", True)):
            _sql("INSERT INTO person (name, kind, is_minor, guardian, created_at) VALUES (?, 'performer', ?, ?, ?)",
                 name, minor, "Sam Young" if minor else None, now)
        consents = {}
        for key, person, uses, scope, actor in (
                ("mara_by_legal", 1, ["likeness"], ["harbour-lights"], "lee"),
                ("kit_forged_by_producer", 2, ["likeness"], ["harbour-lights"], "nia"),
                ("mara_voice_by_producer", 1, ["voice"], ["northern-line"], "nia")):
            _sql("INSERT INTO consent (person_id, uses, productions, territories, valid_from, valid_until, "
                 "guardian_signed, document_sha256, granted_at, version) VALUES (?, ?, ?, '[\"GB\"]', "
                 "'2026-01-01', '2026-12-31', ?, ?, ?, 1)", person, json.dumps(uses), json.dumps(scope),
                 person == 2, "ab" * 32, now)
            consents[key] = _sql("SELECT MAX(id) FROM consent")[0][0]
            record("consent.granted", f"consent:{consents[key]}", {}, actor)
        assets = {}
        for key, actor in (("pat_plate", "pat"), ("cli_library", "cli:root"), ("shared_plate", "pat"),
                           ("nia_used", "two-shows"), ("two_shows_unused", "two-shows")):
            sha = f"{len(assets) + 1:064x}"
            _sql("INSERT INTO asset (sha256, media_type, title, source, size_bytes, created_at) "
                 "VALUES (?, 'image/png', ?, '', 1, ?)", sha, key, now)
            assets[key] = _sql("SELECT id FROM asset WHERE sha256 = ?", sha)[0][0]
            record("asset.registered", f"asset:{sha}", {}, actor)
        _sql("INSERT INTO model (name, version, weights_hash, status, created_at, status_changed_at, "
             "needs_retirement_review) VALUES ('m', '1', ?, 'approved', ?, ?, ?)", "cd" * 32, now, now, False)
        for production, used in (("harbour-lights", ["shared_plate"]), ("northern-line", ["shared_plate", "nia_used"])):
            shas = [f"{list(assets).index(k) + 1:064x}" for k in used]
            _sql('INSERT INTO generation_request (requester, production, use, territory, request_date, model_id, '
                 '"references", people, prompt, prompt_sha256, created_at) '
                 "VALUES ('x', ?, 'previs', 'GB', '2026-06-01', 1, ?, '[]', 'p', ?, ?)",
                 production, json.dumps(shas), "ef" * 32, now)
    return {**consents, **assets}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_database(request, tmp_path: Path):
    settings = Settings.for_folder(tmp_path)
    url = (request.getfixturevalue("postgres_server").create_database() if request.param == "postgresql"
           else settings.database_url)
    open_database(url)
    migrate(target=13)  # what came after step 13 is not step 10's business
    _as_version_9()
    ids = _seed_the_old_way()
    yield ids
    close_database()


def test_step_10_adds_its_columns_and_judges_old_rows_by_the_new_rules(old_database):
    ids = old_database
    assert [s.version for s in migrate()] == [s.version for s in STEPS if s.version >= 10]

    status = dict(_sql("SELECT id, status FROM consent"))
    recorded = dict(_sql("SELECT id, recorded_by FROM consent"))
    # the minor's likeness consent a producer recorded no longer counts until legal confirms it
    assert status[ids["kit_forged_by_producer"]] == "pending" and recorded[ids["kit_forged_by_producer"]] == "nia"
    # legal's own consent, and one that unlocks no likeness of an adult, stay in force
    assert status[ids["mara_by_legal"]] == "confirmed" and recorded[ids["mara_by_legal"]] == "lee"
    assert status[ids["mara_voice_by_producer"]] == "confirmed"

    place = {row[0]: row[1:] for row in _sql("SELECT a.id, p.name, a.library FROM asset a "
                                             "LEFT JOIN production p ON p.id = a.production_id")}
    assert place[ids["pat_plate"]] == ("harbour-lights", False)       # its one producer's production
    assert place[ids["nia_used"]] == ("northern-line", False)         # the one production that used it
    assert place[ids["shared_plate"]][1] and place[ids["cli_library"]][1]  # used by two / the operator's: library
    assert place[ids["two_shows_unused"]] == (None, False)            # no way to tell: studio-wide roles only

    people = _sql("SELECT pe.name, pr.name FROM person_production pp JOIN person pe ON pe.id = pp.person_id "
                  "JOIN production pr ON pr.id = pp.production_id ORDER BY 1, 2")
    assert people == [("Kit Young", "harbour-lights"), ("Mara Quinn", "harbour-lights"),
                      ("Mara Quinn", "northern-line")]
    [entry] = _sql("SELECT data FROM audit_entry WHERE action = 'registry.ownership_backfilled'")
    said = json.loads(entry[0])
    assert said["consents_pending"] == [ids["kit_forged_by_producer"]] and said["assets_assigned"] == 2


def test_the_pending_consent_a_producer_recorded_is_then_confirmed_by_legal_like_any_other(old_database):
    from governance.registry import consents
    from tests.rights import LEE
    migrate()
    kit = old_database["kit_forged_by_producer"]
    confirmed = consents.confirm_consent(kit, by=LEE)  # lee did not record it: nia did
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"] == "lee-legal"
