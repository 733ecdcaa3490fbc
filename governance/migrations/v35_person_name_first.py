"""Step 35: a person's first name word, indexed, to find the names in a prompt by.

Why: every decision looked for registered names in the prompt by reading the name of every
person with a consent (and everyone in the request's production) and matching each in
Python: 7 ms of one core a request at 10,000 people, more as the registry grows, inside the
submitting request. A name can appear in a prompt only where its first word does, so
``person.name_first`` (the name's first word as prompts are read: letters and digits, an
inner apostrophe or hyphen kept, casefolded) lets a decision read just the people whose
first word is among the prompt's words. Filled here from the names already recorded, a
batch at a time; the index is made after. A text column, not a 200-character one: casefolding
lengthens some names ("ß" becomes "ss"). The word rule is copied, not imported: a step
keeps doing what it did when it shipped.
"""

from __future__ import annotations

import re

import peewee
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run

from ..db import database
from .frozen import sql

VERSION = 35
DESCRIPTION = "registry: person.name_first (a name's first word, indexed), filled from the names"
BATCH = 5_000
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*", re.UNICODE)


def _first_word(name: str) -> str:
    found = _WORD.search(name)
    return found.group().casefold() if found else ""


def apply() -> None:
    if "name_first" in {c.name for c in database.get_columns("person")}:
        return
    migrator = SchemaMigrator.from_database(database.obj)
    column = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])
    run(migrator.add_column("person", "name_first", column, allow_not_null=True))
    last = 0
    while True:
        rows = sql("SELECT id, name FROM person WHERE id > ? ORDER BY id LIMIT ?", last, BATCH).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for person_id, name in rows:
            sql("UPDATE person SET name_first = ? WHERE id = ?", _first_word(name or ""), person_id)
    run(migrator.add_index("person", ("name_first",), False))
