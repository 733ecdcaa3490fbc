"""Registering an asset fingerprints its bytes and indexes it; the nearest query names a
copy's original with where it comes from; bytes that are not an image are skipped with a
reason; the watchlist is legal's alone; a rebuild makes the index again from the rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.audit.tables import AuditEntry
from governance.db import transaction
from governance.errors import Conflict, Forbidden, IndexUnavailable
from governance.perception import index as ann
from governance.perception.fingerprints import MATCH_DISTANCE
from governance.principal import Principal
from governance.provenance.similarity import nearest
from governance.registry import assets, fingerprints, licences, people, training_sets
from governance.registry import looks as look_refs
from governance.registry.tables import AssetFingerprint
from tests.perception.images import NOVEL, WORKS, copied, sample

LEE = Principal(0, "lee-legal", frozenset({"legal"}))
PAT = Principal(0, "pat-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))


@pytest.fixture
def studio(db, tmp_path: Path) -> Path:
    """Five photos registered as the operator would (the first a training member), one a watchlist work."""
    from datetime import date
    folder = tmp_path / "index"
    people.add_production("harbour-lights", "Harbour Lights")
    licences.add_licence("LIC-1", "Northlight", grants=["previs"], territories=["GB"], starts_on=date(2026, 1, 1))
    for name in WORKS[:4]:
        assets.register_asset(sample(name), media_type="image/png", title=name, licence="LIC-1", index_dir=folder)
    assets.register_asset(sample(WORKS[4]), media_type="image/jpeg", title="franchise still", watchlist=True,
                          watchlist_note="Third-party franchise", index_dir=folder, by=LEE)
    training_sets.create_training_set("set", [(assets.list_assets()[0]["sha256"], None)])
    return folder


def test_a_copy_of_a_training_image_is_nearest_to_it_with_its_origin_and_licence(studio: Path):
    index = fingerprints.open_index(studio)
    found = nearest(copied(sample(WORKS[0])), 3, index, use="previs")
    top = found.matches[0]
    assert top.asset_sha256 == assets.list_assets()[0]["sha256"] and top.distance <= MATCH_DISTANCE
    assert (top.origin, top.licence, top.licence_covers_output) == ("training_set", "LIC-1", True)
    assert nearest(copied(sample(WORKS[1])), 1, index).matches[0].licence_covers_output is None


def test_a_copy_of_a_watchlist_work_is_named_watchlist_and_never_covered(studio: Path):
    top = nearest(copied(sample(WORKS[4])), 1, fingerprints.open_index(studio), use="previs").matches[0]
    assert (top.origin, top.licence_covers_output) == ("watchlist", False) and top.distance <= MATCH_DISTANCE


def test_a_novel_image_is_farther_than_the_match_distance(studio: Path):
    for name in NOVEL[:4]:
        assert nearest(sample(name), 1, fingerprints.open_index(studio)).matches[0].distance > MATCH_DISTANCE


def test_bytes_that_are_not_an_image_are_registered_and_skipped_with_the_reason(studio: Path):
    garbled, _ = assets.register_asset(b"not a png at all", media_type="image/png", title="g", index_dir=studio)
    pdf, _ = assets.register_asset(b"%PDF-1.7", media_type="application/pdf", title="p", index_dir=studio)
    assert garbled["fingerprint"]["status"] == "skipped" and "not a decodable" in garbled["fingerprint"]["reason"]
    assert pdf["fingerprint"]["reason"] == "application/pdf is not an image type fingerprints are computed for"
    assert fingerprints.open_index(studio).count == 5 and fingerprints.status(studio).skipped == 2


def test_a_producer_cannot_put_a_work_on_the_watchlist(studio: Path):
    with pytest.raises(Forbidden, match="only legal may put a work on the watchlist"):
        assets.register_asset(sample(NOVEL[0]), media_type="image/png", title="x", production="harbour-lights",
                              watchlist=True, by=PAT, index_dir=studio)
    assert AssetFingerprint.select().count() == 5  # nothing registered


def test_a_watchlist_work_is_never_a_training_member_or_a_look_reference(studio: Path):
    sha = assets.list_assets()[4]["sha256"]
    with pytest.raises(Conflict, match="watchlist"):
        training_sets.create_training_set("set-2", [(sha, "LIC-1")])
    with pytest.raises(Conflict, match="watchlist"):
        look_refs.add_look("harbour-lights", sha, by=LEE)
    with pytest.raises(Conflict, match="member of a training set"):
        assets.register_asset(sample(WORKS[0]), media_type="image/png", title="again", watchlist=True, by=LEE)


def test_only_legal_sets_a_productions_look_never_its_producer(studio: Path):
    """The look decides whether the producer's own final frames go to review: a producer who
    could set it would create a fact that decides their own requests."""
    from governance.errors import Forbidden
    from tests.rights import LEE
    own, _ = assets.register_asset(sample(NOVEL[1]), media_type="image/png", title="look",
                                   production="harbour-lights", by=PAT, index_dir=studio)
    with pytest.raises(Forbidden):
        look_refs.add_look("harbour-lights", own["sha256"], by=PAT)
    shown = look_refs.add_look("harbour-lights", own["sha256"], by=LEE)
    assert [r["asset"] for r in shown["looks"]] == [own["sha256"]]


def test_a_registration_without_the_folder_leaves_the_index_out_of_step_until_the_next_add(studio: Path):
    assets.register_asset(sample(NOVEL[2]), media_type="image/png", title="quiet")
    with pytest.raises(IndexUnavailable, match="registry has 6"):
        fingerprints.open_index(studio)
    assets.register_asset(sample(NOVEL[3]), media_type="image/png", title="next", index_dir=studio)
    assert fingerprints.open_index(studio).count == 7


def test_a_lost_index_is_an_error_until_rebuilt_and_the_rebuild_is_audited(studio: Path):
    (studio / ann.INDEX_FILE).unlink()
    with pytest.raises(IndexUnavailable, match="is missing") as caught:
        fingerprints.open_index(studio)
    assert "slate index rebuild" in (caught.value.hint or "")
    with pytest.raises(IndexUnavailable, match=r"assets\.faiss is missing"):
        assets.register_asset(sample(NOVEL[2]), media_type="image/png", title="lost", index_dir=studio)
    assert not fingerprints.status(studio).ok
    report = fingerprints.rebuild(studio, by=LEE)
    assert report.ok and report.in_file == report.indexed == 6
    assert AuditEntry.select().where(AuditEntry.action == "index.rebuilt").count() == 1
    assert nearest(copied(sample(WORKS[2])), 1, fingerprints.open_index(studio)).matches[0].distance <= MATCH_DISTANCE


def test_a_producer_cannot_rebuild_the_index(studio: Path):
    with pytest.raises(Forbidden):
        fingerprints.rebuild(studio, by=PAT)


def test_a_descriptor_edited_in_the_database_is_detected_by_the_rebuild_not_indexed(studio: Path):
    """Attack: someone with database access swaps a work's descriptor for another's, so a
    copy of it would no longer be found. The rebuild refuses the edited row (it is not a unit
    descriptor of this version), naming the asset; a swap of two genuine rows is not
    detectable from the rows alone (the fingerprints carry no signature): re-registering
    the bytes is the repair."""
    row = AssetFingerprint.select().where(AssetFingerprint.status == "indexed").first()
    with transaction():
        AssetFingerprint.update(descriptor=b"\x00" * len(row.descriptor)).where(
            AssetFingerprint.id == row.id).execute()
    with pytest.raises(IndexUnavailable, match=f"asset {row.asset_id} is not"):
        fingerprints.rebuild(studio, by=LEE)


def test_an_asset_from_before_fingerprinting_is_fingerprinted_when_its_bytes_come_again(studio: Path):
    first = assets.list_assets()[1]
    with transaction():
        AssetFingerprint.update(version=None, status="skipped", descriptor=None, phash=None,
                                reason="registered before fingerprinting").where(
            AssetFingerprint.asset == first["id"]).execute()
    fingerprints.rebuild(studio, by=LEE)
    again, created = assets.register_asset(sample(WORKS[1]), media_type="image/png", title="same", index_dir=studio)
    assert not created and again["fingerprint"]["status"] == "indexed"
    assert fingerprints.open_index(studio).count == 5


def test_an_asset_is_a_reference_where_a_recorded_request_names_it_and_no_request_is_read(
        studio: Path, monkeypatch: pytest.MonkeyPatch):
    """Output review asks this for every image: recording a request remembers its references
    (``referenced_asset``, step 33), so no request's list is read or decoded, however many
    the studio has (a ``LIKE`` over every request took 236 ms at 200,000)."""
    from datetime import date

    from governance.clock import utcnow
    from governance.policy.tables import GenerationRequest
    from governance.registry import models_registry

    model = models_registry.register_model("m", "1", "a" * 64)
    named, other = assets.list_assets()[1]["sha256"], assets.list_assets()[2]["sha256"]
    for i, references in enumerate([[named]] + [["f" * 64]] * 20 + [[]]):
        GenerationRequest.create(requester="pat", production="harbour-lights", use="previs", territory="GB",
                                 request_date=date(2026, 6, 1), model=model["id"], references=references,
                                 people=[], prompt=f"shot {i}, after {other}", prompt_sha256="0" * 64,
                                 created_at=utcnow())
    decoded: list[object] = []
    field = GenerationRequest.references
    monkeypatch.setattr(field, "python_value", lambda value: decoded.append(value) or type(field).python_value(
        field, value))
    index = fingerprints.open_index(studio)
    assert nearest(copied(sample(WORKS[1])), 1, index).matches[0].origin == "reference"
    assert decoded == []
    assert nearest(copied(sample(WORKS[2])), 1, index).matches[0].origin == "other"  # named in a prompt only
