"""Checkpoint benchmark: the first audit checkpoint a freshly started process signs, over a log
of ``--entries`` entries with 256 new since the last checkpoint (``CHECKPOINT_EVERY``).

Slate's path is ``audit.log.checkpoint`` as it runs inside the signing transaction: it reads
the newest checkpoint's stored Merkle frontier (migration step 34), checks that it folds to
the signed root and that the root's signature verifies under the signing key, then reads and
hashes only the entries after it. The baseline, measured in the same run on the same
database, is the same call where the newest checkpoint has no frontier: what every new
process did before step 34 (each gunicorn worker after a deploy, each ``slate worker``,
housekeeping), and what a pre-34 row or a rotated key still costs once: every entry read
and hashed. Rounds alternate baseline and Slate, each after 256 more entries recorded with
``audit.log.record``.

The bulk of the log is written with peewee ``insert_many`` (SHA-256 chained as ``record``
chains them, plain data), so a million entries take seconds to set up; the checkpoint reads
only their hashes. SQLite, the embedded default, in a temporary folder.

    .venv/bin/python benchmarks/checkpoint_bench.py [--entries 1000000] [--rounds 3]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.audit import log  # noqa: E402
from governance.audit.tables import AuditCheckpoint, AuditEntry, AuditHead  # noqa: E402
from governance.canonical import digest  # noqa: E402
from governance.clock import utcnow  # noqa: E402
from governance.credentials.keys import KeyStore  # noqa: E402
from governance.db import close_database, open_database, transaction  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.settings import Settings  # noqa: E402

BATCH = 5_000


def fill(entries: int) -> None:
    """Entries chained after the head, written in bulk up to ``entries`` in all, and the head
    row that names the last."""
    at = utcnow().replace(microsecond=0)
    current = AuditHead.get_by_id(1)
    head = current.head_hash
    with transaction():
        for start in range(current.seq + 1, entries + 1, BATCH):
            rows = []
            for seq in range(start, min(entries, start + BATCH - 1) + 1):
                entry_hash = digest({"seq": seq, "prev": head})
                rows.append({"seq": seq, "at": at, "actor": "bench", "action": "thing.done", "subject": f"thing:{seq}",
                             "data": {}, "prev_hash": head, "entry_hash": entry_hash})
                head = entry_hash
            AuditEntry.insert_many(rows).execute()
        AuditHead.update(seq=entries, head_hash=head).where(AuditHead.id == 1).execute()


def record(count: int) -> None:
    with transaction():
        for i in range(count):
            log.record("thing.done", f"more:{i}", actor="bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slate-checkpoint-bench-") as folder:
        settings = Settings.for_folder(Path(folder), tsa_url="none")
        open_database(settings.database_url)
        migrate()
        keys = KeyStore(settings)
        keys.ensure()
        signer = keys.file_signer(keys.active_key())
        started = time.perf_counter()
        fill(args.entries)
        print(f"{args.entries:,} entries written in {time.perf_counter() - started:.1f} s")
        log.checkpoint(signer)
        slate: list[float] = []
        baseline: list[float] = []
        for _ in range(args.rounds):
            for stored, samples in ((False, baseline), (True, slate)):
                record(log.CHECKPOINT_EVERY)
                if not stored:  # as a checkpoint signed before step 34 (or by another key) reads
                    newest = AuditCheckpoint.select().order_by(AuditCheckpoint.tree_size.desc()).get()
                    AuditCheckpoint.update(frontier=None).where(AuditCheckpoint.id == newest.id).execute()
                started = time.perf_counter()
                made = log.checkpoint(signer)
                samples.append(time.perf_counter() - started)
                assert made is not None and made["root_hash"] == AuditCheckpoint.select().order_by(
                    AuditCheckpoint.tree_size.desc()).get().root_hash
        size = AuditHead.get_by_id(1).seq
        close_database()
    after, before = statistics.median(slate) * 1000, statistics.median(baseline) * 1000
    print(f"first checkpoint in a new process, {size:,} entries, {log.CHECKPOINT_EVERY} new: "
          f"{after:8.2f} ms from the stored frontier")
    print(f"baseline, the same without a stored frontier (whole log read):        {before:8.2f} ms "
          f"({before / after:.0f}x)")
    print(json.dumps({"benchmark": "checkpoint", "entries": size, "rounds": args.rounds,
                      "first_checkpoint_ms": round(after, 2), "baseline_ms": round(before, 2),
                      "ratio": round(after / before, 4)}))


if __name__ == "__main__":
    main()
