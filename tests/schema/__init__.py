"""A database's schema as a plain, comparable value, on SQLite and PostgreSQL.

``describe`` reads what the database itself reports (not what a model says it should
hold): per table, its columns (type as the database spells it, nullability, primary key,
default), its indexes (columns in order, uniqueness) and its foreign keys (column, target,
ON DELETE). Column order is left out: a column added by a migration comes last, one
created with its table comes where the model lists it, and nothing in Slate reads columns
by position.

The ``v<N>.<dialect>.json`` files beside this module are the schema the code that shipped
step N created, recorded by ``record.py`` from that code's own history; the migration
tests check the frozen steps still build exactly that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import peewee

HERE = Path(__file__).resolve().parent
#: ON DELETE as both databases name it (PostgreSQL's pg_constraint.confdeltype letters)
_PG_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def dialect(db: peewee.Database) -> str:
    return "postgresql" if isinstance(db, peewee.PostgresqlDatabase) else "sqlite"


def describe(db: peewee.Database, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """table -> {"columns", "indexes", "foreign_keys"} for every table but ``exclude``."""
    return {table: {"columns": _columns(db, table),
                    "indexes": {i.name: {"columns": list(i.columns), "unique": bool(i.unique)}
                                for i in db.get_indexes(table)},
                    "foreign_keys": _foreign_keys(db, table)}
            for table in sorted(db.get_tables()) if table not in exclude}


def recorded(version: int, db_dialect: str) -> dict[str, Any]:
    return json.loads((HERE / f"v{version}.{db_dialect}.json").read_text())  # type: ignore[no-any-return]


def differences(have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """Every way ``have`` differs from ``want``, one line each (empty when equal)."""
    out = [f"table {t}: {'missing' if t in want else 'unexpected'}" for t in sorted(set(have) ^ set(want))]
    for table in sorted(set(have) & set(want)):
        for part in ("columns", "indexes"):
            mine, theirs = have[table][part], want[table][part]
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    out.append(f"{table} {part[:-1] if part == 'columns' else 'index'} {name}: "
                               f"{mine.get(name)} != {theirs.get(name)}")
        if have[table]["foreign_keys"] != want[table]["foreign_keys"]:
            out.append(f"{table} foreign keys: {have[table]['foreign_keys']} != {want[table]['foreign_keys']}")
    return out


def _columns(db: peewee.Database, table: str) -> dict[str, dict[str, Any]]:
    if dialect(db) == "sqlite":
        rows = db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()
        return {name: {"type": kind, "null": not notnull, "pk": bool(pk), "default": default}
                for _, name, kind, notnull, default, pk in rows}
    keys = {c for c in db.get_primary_keys(table)}
    rows = db.execute_sql(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s",
        (table,)).fetchall()
    return {name: {"type": f"{kind}({length})" if length else kind, "null": nullable == "YES",
                   "pk": name in keys, "default": default}
            for name, kind, length, nullable, default in rows}


def _foreign_keys(db: peewee.Database, table: str) -> list[list[str]]:
    if dialect(db) == "sqlite":
        rows = db.execute_sql(f'PRAGMA foreign_key_list("{table}")').fetchall()
        found = [[frm, target, to, on_delete] for _, _, target, frm, to, _, on_delete, _ in rows]
    else:
        found = [[column, target, to, _PG_ACTIONS[action]] for column, target, to, action in db.execute_sql(
            "SELECT a.attname, t2.relname, a2.attname, c.confdeltype FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class t2 ON t2.oid = c.confrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute a2 ON a2.attrelid = c.confrelid AND a2.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND t.relname = %s AND n.nspname = current_schema()", (table,)).fetchall()]
    return sorted(found)
