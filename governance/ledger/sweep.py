"""Signed files in the outputs folder that the ledger does not hold.

Signing writes the file and then commits its ledger row; a process killed in between
leaves a signed file no row vouches for (and a write cut short leaves a ``.signing-*``
temporary file). Such a file is never served, since downloads go through the ledger, and
it verifies as "not issued"; but it is litter that looks like an output. ``slate ledger
sweep`` finds them and, with ``--apply``, moves them to ``outputs/orphaned/``, out of the
way and kept for whoever wants to look, and says so in the audit log. It is run on
purpose, never at start: a server started against the wrong database would otherwise
take every output for an orphan.

Only files older than a grace period are touched: a younger one may belong to a signing
whose transaction is about to commit in another process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..audit.log import record
from ..db import private_folder, transaction, tuples
from ..errors import Conflict
from ..ids import is_sha256
from .tables import Output

GRACE = timedelta(minutes=10)
QUARANTINE = "orphaned"
TEMPORARY_PREFIX = ".signing-"


@dataclass(frozen=True)
class Orphan:
    path: Path
    kind: str  # "unrecorded": a complete signed file; "partial": a write cut short
    size: int
    modified: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "size": self.size, "modified": self.modified}


def find_orphans(outputs_dir: Path, now: datetime, grace: timedelta = GRACE) -> list[Orphan]:
    """Files under ``outputs_dir`` (``<2 hex>/<sha256>.<ext>``) with no ledger row, and
    temporary files of cut-short writes, last changed before ``now - grace``."""
    if not outputs_dir.is_dir():
        return []
    candidates: list[Orphan] = []
    for folder in sorted(p for p in outputs_dir.iterdir() if p.is_dir() and p.name != QUARANTINE):
        for path in sorted(folder.iterdir()):
            try:
                stat = path.stat()
            except FileNotFoundError:  # renamed or removed by a signing meanwhile
                continue
            modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
            if not path.is_file() or modified > now - grace:
                continue
            if path.name.startswith(TEMPORARY_PREFIX):
                candidates.append(Orphan(path, "partial", stat.st_size, modified))
            elif is_sha256(path.stem):
                candidates.append(Orphan(path, "unrecorded", stat.st_size, modified))
    recorded = _recorded({o.path.stem for o in candidates if o.kind == "unrecorded"})
    return [o for o in candidates if o.kind == "partial" or o.path.stem not in recorded]


def quarantine(outputs_dir: Path, orphans: list[Orphan], actor: str = "slate") -> list[Path]:
    """Move ``orphans`` to ``outputs/orphaned/`` and record what was moved in the audit log.

    Refuses when this database's ledger is empty while signed files exist: that is a
    database that is not this folder's (a wrong ``SLATE_DATABASE_URL``), not a crash.
    Each file's ledger row is looked for again just before it moves.
    """
    if not orphans:
        return []
    if any(o.kind == "unrecorded" for o in orphans) and not Output.select().exists():
        raise Conflict("this database's ledger holds no outputs at all, so every signed file looks unrecorded; "
                       "nothing was moved",
                       hint="check SLATE_DATABASE_URL points at the database these outputs belong to")
    target = private_folder(outputs_dir / QUARANTINE, top=outputs_dir)
    moved: list[Orphan] = []
    with transaction():
        recorded = _recorded({o.path.stem for o in orphans if o.kind == "unrecorded"})
        for orphan in orphans:
            if orphan.kind == "unrecorded" and orphan.path.stem in recorded:
                continue  # committed since it was found
            try:
                os.replace(orphan.path, target / orphan.path.name)
            except FileNotFoundError:  # another sweep moved it, or a signing renamed it
                continue
            moved.append(orphan)
        if moved:
            record("ledger.orphans_quarantined", f"outputs:{QUARANTINE}",
                   {"files": [{"name": o.path.name, "kind": o.kind, "size": o.size} for o in moved]}, actor=actor)
    return [target / o.path.name for o in moved]


def _recorded(hashes: set[str], batch: int = 500) -> set[str]:
    found: set[str] = set()
    ordered = sorted(hashes)
    for start in range(0, len(ordered), batch):
        rows = tuples(Output.select(Output.sha256).where(Output.sha256.in_(ordered[start:start + batch])))
        found.update(sha256 for (sha256,) in rows)
    return found
