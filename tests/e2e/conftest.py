"""A studio home with a real (micro) model registered as the bundled one, so ``slate serve``
starts in seconds instead of training for minutes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("torch")

from reliability.fleet import build_micro_bundle
from reliability.fleet import prepare_home as prepare_home  # the e2e tests import it from here


@pytest.fixture(scope="session")
def micro_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained micro model directory, built once per session."""
    return build_micro_bundle(tmp_path_factory.mktemp("micro-bundle"))
