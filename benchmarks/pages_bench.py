"""Every page of the web blueprint at studio scale: server time per page with 1,000,000 outputs.

Seeds a studio in SQLite the way ``provenance_bench`` does (1,000,000 signed outputs with
their requests, decisions, jobs, approvals and search facets; 10,000 assets; 1,000 people;
500 licences; 100 models), adds the audit log those outputs would have written (a decision
per request, an approval for the 30% that needed one, a signature per output) and the demo
studio on top (users, the studio policy, the plate), then keeps the folder under ``--cache``
so a rerun reuses it (the seed is the slow part). A small studio (``--small`` outputs) is
seeded the same way and measured in the same run, as the baseline.

The app runs in this process behind Flask's test client (server time, no network). One user
per role signs in through the sign-in form; every GET endpoint of the ``web`` blueprint is
discovered from the app's url_map, its identifiers filled from the seed, and requested
``--trials`` times as a user whose roles open it.

    .venv/bin/python benchmarks/pages_bench.py [--outputs N] [--small N] [--trials N] [--cache DIR]

Prints p95 per page at both sizes and ends with one JSON line: ``pages``, ``worst_page``,
``worst_p95_ms``, ``p95_ms`` (per page), ``outputs``, ``ratio`` (the worst page's p95 at
N over the same page's at the small size), ``statuses`` (pages that did not answer 200).
Target: every page under 200 ms p95.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import provenance_bench as seed_flow

from governance import demo
from governance.auth.users import add_user
from governance.db import close_database, database, open_database
from governance.migrations import migrate
from governance.settings import Settings

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "policies" / "studio-default.yaml"
SEEDED = "seeded.json"  # written last: a folder without it is an unfinished seed
#: the bulk flow's requester; signs in as the producer, member of every bulk production
PRODUCER = "producer"
ROLE_USERS = {"producer": PRODUCER, "legal": "lee-legal", "approver": "ada-approver", "auditor": "aud-auditor"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------- seeding

def seed(folder: Path, outputs: int) -> dict[str, Any]:
    """Seed ``folder`` (or reuse it when a finished seed of the same size is there)."""
    marker = folder / SEEDED
    if marker.is_file():
        facts = json.loads(marker.read_text())
        if facts.get("outputs") == outputs:
            return dict(facts)
    if folder.exists():
        raise SystemExit(f"{folder} holds an unfinished or different seed: remove it and run again")
    folder.mkdir(parents=True)
    settings = Settings.for_folder(folder)
    open_database(settings.database_url)
    migrate()
    started = time.perf_counter()
    rng = random.Random(21)
    built = seed_flow.build(outputs, rng)
    audit_entries = _load_audit(outputs, rng)
    demo.seed(POLICY, settings, with_tokens=False)
    add_user(PRODUCER, ["producer"], [f"prod-{i:02d}" for i in range(seed_flow.PRODUCTIONS)])
    database.obj.connection().execute("ANALYZE")
    facts = {"outputs": outputs, "audit_entries": audit_entries, "seed_s": round(time.perf_counter() - started),
             **built}
    close_database()
    marker.write_text(json.dumps(facts))
    return facts


def _load_audit(n: int, rng: random.Random) -> int:
    """The entries the bulk flow would have appended, in time order: a decision per request,
    an approval where one was needed, a signature per output. Hashes are stand-ins: the chain
    is not verified here (the verify page is a POST, outside what this measures)."""
    load = seed_flow.Loader()
    c = load.conn
    c.execute("BEGIN")
    indexes = load.without_indexes(["audit_entry"])
    seq = 0

    def entries() -> Any:
        nonlocal seq
        for i in range(n):
            when = seed_flow.at(i)
            needs = rng.random() < 0.3
            rows = [(PRODUCER, "request.decided", f"request:{i + 1}",
                     {"decision": i + 1, "outcome": "needs_approval" if needs else "allow"})]
            if needs:
                rows.append((f"approver-{rng.randrange(seed_flow.APPROVERS):02d}", "request.approved",
                             f"request:{i + 1}", {"approval": i + 1}))
            rows.append(("gpu-worker", "output.signed", f"output:{seed_flow.sha('out', i)}", {"job": f"job_{i}"}))
            for actor, action, subject, data in rows:
                seq += 1
                yield (seq, when, actor, action, subject, json.dumps(data, separators=(",", ":")),
                       seed_flow.sha("entry", seq - 1) if seq > 1 else "0" * 64, seed_flow.sha("entry", seq))

    load.rows("audit_entry", ["seq", "at", "actor", "action", "subject", "data", "prev_hash", "entry_hash"],
              entries())
    c.execute('INSERT INTO "audit_head" (id, seq, head_hash) VALUES (1, ?, ?)', (seq, seed_flow.sha("entry", seq)))
    c.execute("COMMIT")
    for sql in indexes:
        c.execute(sql)
    return seq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/slate-pages-bench"))
    parser.add_argument("--seed-only", action="store_true", help="seed (or check) the cache and stop")
    args = parser.parse_args()
    for n in (args.small, args.outputs):
        facts = seed(args.cache / str(n), n)
        print(f"seeded {n:,} outputs: {facts}", flush=True)
    if args.seed_only:
        return


if __name__ == "__main__":
    main()
