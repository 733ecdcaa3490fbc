"""Asset intake reads C2PA/CAWG content credentials: the claim signer, whether the manifest
validated and the owner's training-and-mining answer are recorded; an owner's notAllowed
keeps the asset out of training sets (signed or not); a manifest that cannot be read is
refused with nothing recorded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from governance.audit.tables import AuditEntry
from governance.errors import Conflict, InvalidInput
from governance.registry import assets, intake, licences, training_sets
from governance.registry.tables import Asset, AssetManifest, TrainingSet
from tests.owner_credentials import OWNER, mining, not_allowed_image, resaved, signed_image, with_pixels_changed

FIXTURES = Path("/work/shared/c2pa-fixtures")
if not FIXTURES.exists():
    FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "c2pa-fixtures"


@pytest.fixture
def licensed(db):
    licences.add_licence("LIC-AGENCY", "Northlight Photo Agency", grants=["ai_training", "ai_reference", "previs"],
                         territories=["WW"], starts_on=date(2025, 1, 1))
    return db


def register(content: bytes, title: str = "Agency photo", media_type: str = "image/png") -> dict:
    return assets.register_asset(content, media_type=media_type, title=title, licence="LIC-AGENCY")[0]


def test_an_owners_not_allowed_is_recorded_with_its_signer_and_the_manifest_is_kept(licensed):
    asset = register(not_allowed_image())
    creds = asset["credentials"]
    assert (creds["state"], creds["training_mining"], creds["failures"]) == ("valid", "notAllowed", [])
    assert creds["signer"].startswith(OWNER) and creds["signer_serial"]
    assert creds["entries"]["cawg.training-mining"]["cawg.ai_training"] == {"use": "notAllowed"}
    kept = AssetManifest.get()
    assert kept.active_manifest == creds["active_manifest"] and len(kept.store) > 0
    entry = AuditEntry.select().where(AuditEntry.action == "asset.registered").get()
    assert entry.data["training_mining"] == "notAllowed" and entry.data["credential_signer"].startswith(OWNER)


def test_a_not_allowed_asset_cannot_join_a_training_set_the_message_names_it_and_its_signer(licensed):
    refused = register(not_allowed_image(), title="Harbour by night")
    fine = register(signed_image(mining("allowed"), seed=12), title="Quay")
    with pytest.raises(Conflict) as caught:
        training_sets.create_training_set("agency-set", [(fine["sha256"], None), (refused["sha256"], None)])
    message = str(caught.value)
    assert refused["sha256"][:12] in message and "Harbour by night" in message and OWNER in message
    assert "notAllowed" in message and "reference" in caught.value.hint
    assert TrainingSet.select().count() == 0
    assert training_sets.create_training_set("agency-set", [(fine["sha256"], None)])["size"] == 1


def test_a_not_allowed_in_a_manifest_that_no_longer_validates_is_still_honoured(licensed):
    asset = register(with_pixels_changed(not_allowed_image()))
    assert asset["credentials"]["state"] == "invalid"
    assert asset["credentials"]["failures"] == ["assertion.dataHash.mismatch"]
    with pytest.raises(Conflict, match=r"not validated.*notAllowed"):
        training_sets.create_training_set("s", [(asset["sha256"], None)])


@pytest.mark.parametrize("new_answer", [(), (mining("allowed"),)], ids=["says-nothing", "says-allowed"])
def test_an_owners_refusal_still_counts_after_the_image_is_resaved_in_another_editor(licensed, new_answer):
    """The attack: open the owner's image in any C2PA editor and save it, so the active
    manifest is the editor's (silent, or claiming AI training is allowed) and the owner's
    notAllowed survives only in the parent ingredient's manifest."""
    asset = register(resaved(not_allowed_image(seed=21), *new_answer), title="Re-saved harbour")
    assert asset["credentials"]["training_mining"] == "notAllowed"
    with pytest.raises(Conflict, match="notAllowed"):
        training_sets.create_training_set("laundered", [(asset["sha256"], None)])
    assert TrainingSet.select().count() == 0


def test_the_c2pa_1x_label_counts_and_only_training_uses_decide(licensed):
    old_label = register(signed_image(mining("notAllowed", label="c2pa.training-mining"), seed=13))
    assert old_label["credentials"]["training_mining"] == "notAllowed"
    inference_only = register(signed_image(mining("notAllowed", uses=("ai_inference",)), seed=14))
    constrained = register(signed_image(mining("constrained", uses=("ai_training",)), seed=15))
    assert inference_only["credentials"]["training_mining"] == "none"
    assert constrained["credentials"]["training_mining"] == "constrained"
    made = training_sets.create_training_set("s", [(inference_only["sha256"], None), (constrained["sha256"], None)])
    assert made["size"] == 2


def test_third_party_files_are_read_as_they_are(licensed):
    intact = register((FIXTURES / "C.jpg").read_bytes(), media_type="image/jpeg")
    tampered = register((FIXTURES / "E-sig-CA.jpg").read_bytes(), media_type="image/jpeg")
    bare = register((FIXTURES / "no_manifest.jpg").read_bytes(), media_type="image/jpeg")
    assert (intact["credentials"]["state"], intact["credentials"]["signer"]) == (
        "valid", "C2PA Signer (C2PA Test Signing Cert)")
    assert tampered["credentials"]["state"] == "invalid"
    assert tampered["credentials"]["failures"] == ["claimSignature.mismatch"]
    assert (bare["credentials"]["state"], bare["credentials"]["training_mining"]) == ("none", "none")
    assert AssetManifest.select().count() == 2


@pytest.mark.parametrize("damage", ["truncated", "jumbf", "relabelled"])
def test_a_manifest_that_cannot_be_read_is_refused_and_nothing_is_recorded(licensed, damage):
    good = not_allowed_image()
    start = good.find(b"caBX") + 40
    content, media_type = {
        "truncated": (good[:len(good) // 2], "image/png"),
        "jumbf": (good[:start] + bytes(b ^ 0x5A for b in good[start:start + 160]) + good[start + 160:], "image/png"),
        # a producer relabelling an owner's refusal to slip it past the reader
        "relabelled": (good, "text/plain"),
    }[damage]
    entries = AuditEntry.select().count()
    with pytest.raises(InvalidInput, match="C2PA manifest"):
        assets.register_asset(content, media_type=media_type, title="x", licence="LIC-AGENCY")
    assert Asset.select().count() == 0 and AssetManifest.select().count() == 0
    assert AuditEntry.select().count() == entries


def test_an_owners_refusal_registered_under_another_image_type_is_still_read(licensed):
    asset = register(not_allowed_image(), media_type="image/jpeg")  # c2pa reads the bytes' own format
    assert asset["credentials"]["training_mining"] == "notAllowed"


def test_bytes_with_no_manifest_that_c2pa_cannot_parse_are_recorded_as_unreadable(licensed):
    asset = register(b"not really a png")
    assert asset["credentials"]["state"] == intake.UNREADABLE
    other = assets.register_asset(b"plain text", media_type="text/plain", title="notes")[0]
    assert other["credentials"]["state"] == intake.UNSUPPORTED


def test_an_asset_registered_before_credentials_were_read_gets_them_when_its_bytes_come_again(licensed):
    content = not_allowed_image()
    asset = register(content)
    Asset.update(credential_state=None, credential_signer=None, training_mining=None).execute()
    AssetManifest.delete().execute()
    assert assets.show_asset(asset["sha256"])["credentials"] is None
    again, created = assets.register_asset(content, media_type="image/png", title="again")
    assert not created and again["credentials"]["training_mining"] == "notAllowed"
    assert AuditEntry.select().where(AuditEntry.action == "asset.credentials_read").count() == 1


def test_reading_credentials_is_quick_and_bounded(licensed):
    import time
    content = not_allowed_image()
    started = time.perf_counter()
    for seed in range(5):
        intake.read_credentials(content, "image/png", f"{seed:064x}", "t")
    assert (time.perf_counter() - started) / 5 < 0.5
    assert len(intake.read_credentials(content, "image/png", "a" * 64, "t").archive or b"") <= intake.MAX_ARCHIVE_BYTES
