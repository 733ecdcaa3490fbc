"""A short coverage-guided fuzz run of image intake and verification (the long run is in
the reliability suite: scripts/reliability)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")
REPO = Path(__file__).resolve().parents[2]


def test_fuzzed_images_never_crash_intake_or_verification(capsys):
    result = subprocess.run([sys.executable, str(REPO / "reliability" / "fuzz_images.py"), "-runs=2500",
                             "-timeout=20"], capture_output=True, text=True, timeout=600)
    tail = (result.stdout + result.stderr)[-3000:]
    assert result.returncode == 0, tail
    done = re.search(r"Done (\d+) runs", tail)
    assert done and int(done.group(1)) >= 2500, tail
    with capsys.disabled():
        print(f"\nfuzz: {done.group(1)} cases tried on image intake and verification, no crash, no hang")
