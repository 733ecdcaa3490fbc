"""Catalogue files and people to keep them: legal authors, a second curator, a producer."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.catalogue import Catalogue, load_catalogue
from governance.principal import Principal

REPO = Path(__file__).resolve().parents[2]
STUDIO_CATALOGUE = REPO / "policies" / "catalogue.yaml"

LEE = Principal(1, "lee-legal", frozenset({"legal"}))
LOU = Principal(2, "lou-legal", frozenset({"legal"}))
ROOT = Principal(3, "root-admin", frozenset({"admin"}))
PAT = Principal(4, "pat-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))


def catalogue_text(version: int = 1, attributes: str = "", vocabularies: str = "") -> bytes:
    return (f"uid: urn:slate:catalogue:test\nversion: {version}\ntitle: Test terms\n"
            f"attributes:\n{attributes or '  licence: {projects: {type: list}}'}\n"
            + (f"vocabularies:\n{vocabularies}\n" if vocabularies else "")).encode()


@pytest.fixture
def studio() -> Catalogue:
    """The studio's own catalogue file, as legal keeps it."""
    return load_catalogue(STUDIO_CATALOGUE.read_bytes(), str(STUDIO_CATALOGUE))
