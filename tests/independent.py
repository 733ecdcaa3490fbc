"""An independent C2PA implementation to judge Slate's outputs: TrustNXT's c2pa-ts under node.

Slate signs and verifies with c2pa-python (c2pa-rs); a credential that only the library
that wrote it accepts proves little. c2pa-ts is a separate implementation in TypeScript.
Its version and every dependency's are pinned by ``tests/c2pa_ts/package-lock.json``;
it is installed with npm into a cache folder outside the repository
(``~/.cache/slate-tests/c2pa-ts-<hash of the three files>``, or ``$SLATE_TEST_CACHE``), once.

Like ``tests.servers``, ``start_c2pa_ts`` returns None with a reason when node or npm is
not on the machine or the registry cannot be reached (``scripts/system-packages``
installs node and npm where it can), so the calling fixture skips visibly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parent / "c2pa_ts"
FILES = ("package.json", "package-lock.json", "check.mjs")


@dataclass(frozen=True)
class C2paTs:
    folder: Path
    node: str

    def judge(self, path: Path) -> dict[str, Any]:
        """c2pa-ts's result for one file: ``isValid``, ``statusEntries``, ``assertions``."""
        result = subprocess.run([self.node, str(self.folder / "check.mjs"), str(path)], capture_output=True,
                                text=True, timeout=120, cwd=self.folder)
        if result.returncode != 0:
            raise AssertionError(f"c2pa-ts's check failed to run: {result.stderr[-2000:]}")
        judged: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return judged

    @property
    def version(self) -> str:
        package = json.loads((self.folder / "node_modules/@trustnxt/c2pa-ts/package.json").read_text())
        return str(package["version"])


def _cache_root() -> Path:
    return Path(os.environ.get("SLATE_TEST_CACHE") or Path.home() / ".cache" / "slate-tests")


def start_c2pa_ts() -> tuple[C2paTs | None, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "node and npm are not installed (scripts/system-packages installs them as root on Debian)"
    digest = hashlib.sha256(b"".join((SOURCE / name).read_bytes() for name in FILES)).hexdigest()[:16]
    folder = _cache_root() / f"c2pa-ts-{digest}"
    if (folder / "node_modules" / "@trustnxt" / "c2pa-ts" / "package.json").exists():
        return C2paTs(folder, node), ""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".c2pa-ts-", dir=folder.parent))
    for name in FILES:
        shutil.copyfile(SOURCE / name, staging / name)
    # the lock file pins every version; no install scripts run (cbor-x works without its
    # optional native extractor); npm's own cache is used when it has the packages
    result = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
                            cwd=staging, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        return None, f"npm could not install c2pa-ts: {result.stderr.strip()[-300:]}"
    if (staging / "package-lock.json").read_bytes() != (SOURCE / "package-lock.json").read_bytes():
        shutil.rmtree(staging, ignore_errors=True)
        return None, "npm resolved other versions than tests/c2pa_ts/package-lock.json pins"
    try:
        staging.rename(folder)  # whole or not at all; a racing run may have got there first
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return C2paTs(folder, node), ""
