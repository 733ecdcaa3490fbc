"""Fixtures for the policy engine: the studio default policy, facts written by hand, and a
registry with one of everything for the tests that go through the database."""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from governance.policy import facts as F
from governance.policy.compiler import CompiledPolicy, compile_bytes
from governance.policy.testing import merge
from tests.conftest import REPO
from tests.training import attest_model

DEFAULT_POLICY = REPO / "policies" / "studio-default.yaml"
UID = "urn:slate:policy:studio-default"
_VERSION_LINE = re.compile(r"^version: (\d+)$", re.MULTILINE)
#: the version the studio default policy file carries; tests make later ones from it
FILE_VERSION = int(_VERSION_LINE.search(DEFAULT_POLICY.read_text("utf-8")).group(1))  # type: ignore[union-attr]
NEXT_VERSION = FILE_VERSION + 1


@pytest.fixture
def policy_bytes() -> bytes:
    return DEFAULT_POLICY.read_bytes()


@pytest.fixture
def engine(policy_bytes: bytes) -> CompiledPolicy:
    return compile_bytes(policy_bytes, str(DEFAULT_POLICY))


def open_licence(**changes: Any) -> dict[str, Any]:
    return {"id": "11", "ref": "LIC-STOCK", "licensor": "Northlight Stock",
            "grants": ["ai_training", "ai_reference", "concept", "previs", "final_frame", "marketing"],
            "territories": ["WW"], "starts_on": "2025-01-01", "ends_on": None,
            "attribution_required": False, "credit_text": None, "takedown": False, "version": 1} | changes


def credit_licence(**changes: Any) -> dict[str, Any]:
    return open_licence(id="12", ref="LIC-ARCHIVE", licensor="Harbour Archive Ltd",
                        grants=["ai_training", "ai_reference", "concept", "previs"],
                        territories=["GB", "IE"], starts_on="2024-01-01", ends_on="2026-12-31",
                        attribution_required=True, credit_text="Courtesy of Harbour Archive Ltd",
                        version=2) | changes


def consent(**changes: Any) -> dict[str, Any]:
    return {"id": "31", "uses": ["likeness", "reference"], "productions": ["harbour-lights"],
            "territories": ["GB", "IE"], "valid_from": "2025-01-01", "valid_until": "2026-12-31",
            "guardian_signed": False, "document_sha256": "ab" * 32, "revoked": False,
            "revoked_at": None, "version": 1,
            # performers' terms (policy v7): a described employment-based replica, notice long before
            "replica_type": "employment_based", "use_description_sha256": "cd" * 32,
            "notice_given_at": "2024-12-01T00:00:00+00:00", "estate_consent": False} | changes


def asset(n: int, lic: dict[str, Any] | None) -> dict[str, Any]:
    sha = f"{n:064x}"
    return {"asset": {"id": str(n), "sha256": sha, "title": f"Plate {n}", "media_type": "image/png"},
            "licence": lic}


def performer(name: str, *consents: dict[str, Any], minor: bool = False, **flags: Any) -> dict[str, Any]:
    return {"person": {"id": str(sum(map(ord, name))), "name": name, "is_minor": minor},
            "consents": list(consents)} | flags


BASE: dict[str, Any] = {
    "request": {"id": "1", "requester": "sam", "production": "harbour-lights", "use": "concept",
                "territory": "GB", "date": "2025-06-01",
                "prompt": "a fishing harbour at dawn, mist over the water"},
    "model": {"id": "7", "name": "harbour-style", "version": "1.0", "status": "approved",
              "weights_hash": "cd" * 32, "training_set_root": "ef" * 32, "attested": True,
              "base": None, "base_status": "none", "base_weights_hash": None, "base_licence": None},
    "references": [asset(1, open_licence()), asset(2, credit_licence())],
    "training_assets": [asset(3, open_licence()), asset(4, credit_licence())],
    "performers": [],
}


@pytest.fixture
def facts() -> Callable[..., dict[str, Any]]:
    """``facts(request={...}, performers=[...])``: the base request with those parts changed."""
    def make(**patch: Any) -> dict[str, Any]:
        return F.complete(copy.deepcopy(merge(BASE, patch)))
    return make


# --- through the registry ------------------------------------------------------------------

@pytest.fixture
def registry(db: Any) -> Iterator[dict[str, Any]]:
    """One production, two performers (one with a current consent, one whose consent expired),
    a credited licence, two assets, a training set, an approved model, and the studio
    default policy published."""
    from governance.auth.users import add_user
    from governance.policy import versions
    from governance.registry import assets, licences, models_registry, people, training_sets
    from tests import rights

    people.add_production("harbour-lights")
    add_user("sam", ["producer"], ["harbour-lights"])  # the requester: a producer of the production
    add_user("alice", ["legal"])  # who writes and reviews the policy
    add_user("bob", ["legal"])
    people.add_person("Maya Okafor")
    people.add_person("Tom Reyes")
    maya = rights.grant_consent(db, "Maya Okafor", uses=["likeness"], productions=["harbour-lights"],
                                territories=["GB"], valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31))
    tom = rights.grant_consent(db, "Tom Reyes", uses=["likeness"], productions=["harbour-lights"],
                               territories=["GB"], valid_from=date(2024, 1, 1), valid_until=date(2024, 12, 31))
    licences.add_licence("LIC-1", "Northlight", grants=["ai_training", "ai_reference", "concept", "previs"],
                         territories=["WW"], starts_on=date(2024, 1, 1), attribution_required=True,
                         credit_text="Courtesy of Northlight")
    ref, _ = assets.register_asset(b"reference image", media_type="image/png", title="Quay", licence="LIC-1")
    unlicensed, _ = assets.register_asset(b"found online", media_type="image/png", title="Found")
    member, _ = assets.register_asset(b"training image", media_type="image/png", title="Plate", licence="LIC-1")
    training_sets.create_training_set("harbour-set", [(member["sha256"], None)])
    models_registry.register_model("harbour", "1", "ef" * 32, training_set="harbour-set")
    attest_model("harbour:1", db)  # final frames need an attested model; these tests are about other rules
    models_registry.set_status("harbour:1", "approved")
    added = versions.add_version(DEFAULT_POLICY.read_bytes(), "alice", str(DEFAULT_POLICY))
    versions.approve_version(f"{UID}@{added['version']}", "bob")
    versions.publish_version(f"{UID}@{added['version']}", "bob")
    yield {"reference": ref["sha256"], "unlicensed": unlicensed["sha256"], "member": member["sha256"],
           "maya_consent": maya["id"], "tom_consent": tom["id"], "model": "harbour:1"}


def policy_text(version: int, *, edit: Callable[[str], str] = lambda t: t) -> bytes:
    """The studio default policy as another version, optionally edited."""
    text = _VERSION_LINE.sub(f"version: {version}", DEFAULT_POLICY.read_text("utf-8"), count=1)
    return edit(text).encode("utf-8")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
