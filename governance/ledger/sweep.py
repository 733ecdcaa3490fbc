"""Signed files in the outputs folder that the ledger does not hold.

Signing writes the file and then commits its ledger row; a process killed in between
leaves a signed file no row vouches for (and a write cut short leaves a ``.signing-*``
temporary file). Such a file is never served, since downloads go through the ledger, and
it verifies as "not issued"; but it is litter that looks like an output. The sweep finds
them and moves them to ``outputs/orphaned/``, out of the way and kept for whoever wants
to look, and says so in the audit log.

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
from ..db import transaction
from ..ids import is_sha256
from .records import find_by_sha256

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
    found = []
    for folder in sorted(p for p in outputs_dir.iterdir() if p.is_dir() and p.name != QUARANTINE):
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            stat = path.stat()
            modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
            if modified > now - grace:
                continue
            if path.name.startswith(TEMPORARY_PREFIX):
                found.append(Orphan(path, "partial", stat.st_size, modified))
            elif is_sha256(path.stem) and find_by_sha256(path.stem) is None:
                found.append(Orphan(path, "unrecorded", stat.st_size, modified))
    return found


def quarantine(outputs_dir: Path, orphans: list[Orphan], actor: str = "slate") -> list[Path]:
    """Move ``orphans`` to ``outputs/orphaned/`` and record that in the audit log."""
    if not orphans:
        return []
    target = outputs_dir / QUARANTINE
    target.mkdir(parents=True, exist_ok=True)
    moved = []
    with transaction():
        for orphan in orphans:
            destination = target / orphan.path.name
            os.replace(orphan.path, destination)
            moved.append(destination)
        record("ledger.orphans_quarantined", f"outputs:{QUARANTINE}",
               {"files": [{"name": o.path.name, "kind": o.kind, "size": o.size} for o in orphans]}, actor=actor)
    return moved
