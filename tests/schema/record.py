"""Record the schema each earlier version really had, from the code that shipped it.

    .venv/bin/python -m tests.schema.record      # from the repository root; needs git and PostgreSQL

For every version N, the repository's own history is exported (``git archive``, no
checkout), that code's ``migrate`` builds a database on SQLite and on PostgreSQL, and
``describe`` writes what the database then holds to ``v<N>.<dialect>.json``. The frozen
steps in ``governance/migrations/`` are tested against these files, so a step edited
after it shipped shows up as a difference from what its code once created.

Which code built which version (``HISTORY``): steps 1 to 9 as of ea913cf, the commit that
added step 9. Every table steps 1 to 9 create was unchanged from the commit that added its
step up to ea913cf (``git diff <commit> ea913cf -- governance/*/tables.py``); after it,
78633cf put the lease column on the jobs model (step 11 adds it) and c3118e7 the rights
columns on the registry models (step 10). Steps 2 and 3 existed as empty placeholders
from the skeleton (3fe7779) until 5d36d55 and 46f7435 filled them on the same day: a
database that recorded them then never got those tables, and is not a version anyone
could run. Steps 10 and 11 are f3d22db's, run on that version 9 database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playhouse import db_url

from tests.schema import HERE, describe, dialect

REPO = HERE.parent.parent
#: version -> the (commit, target) runs of that commit's ``migrate`` that built it, in order
HISTORY: dict[int, list[tuple[str, int]]] = {
    **{v: [("ea913cf", v)] for v in range(1, 10)},
    10: [("ea913cf", 9), ("f3d22db", 10)],
    11: [("ea913cf", 9), ("f3d22db", 11)],
}
_RUN = ("import sys; from governance.db import open_database; from governance.migrations import migrate; "
        "open_database(sys.argv[1]); migrate(target=int(sys.argv[2]))")


def export(commit: str, into: Path) -> Path:
    tree = into / commit
    if not tree.exists():
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "governance"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def build(url: str, runs: list[tuple[str, int]], trees: Path) -> None:
    for commit, target in runs:
        subprocess.run([sys.executable, "-c", _RUN, url, str(target)], cwd=export(commit, trees), check=True,
                       env={**os.environ, "PYTHONPATH": str(export(commit, trees))})


def as_text(schema: dict[str, object]) -> str:
    """JSON, one table a line: small, and a change shows as the lines of its tables."""
    lines = (f"{json.dumps(t)}: {json.dumps(schema[t], sort_keys=True, separators=(',', ':'))}"
             for t in sorted(schema))
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    from tests.servers import start_postgres
    server, reason = start_postgres()
    if server is None:
        raise SystemExit(f"PostgreSQL is needed to record its schemas: {reason}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            trees = Path(folder)
            for version, runs in HISTORY.items():
                for url in (f"sqlite:///{trees}/v{version}.db", server.create_database()):
                    build(url, runs, trees)
                    db = db_url.connect(url)
                    schema = describe(db)
                    db.close()
                    path = HERE / f"v{version}.{dialect(db)}.json"
                    path.write_text(as_text(schema))
                    print(f"{path.name}: {len(schema)} tables")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
