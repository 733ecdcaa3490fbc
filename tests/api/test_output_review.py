"""Output review against the real API: the image a worker sends to ``/sign`` is judged by the
studio policy's rules about ``output`` before anything is signed, with real photos (the
scikit-image wheel's) fingerprinted into the real faiss index and a real face detector.

- a training image cropped 10%, resized, re-encoded as JPEG q=70 and colour-shifted is
  found as the nearest asset and refused, the evidence naming it; nothing is signed; the
  image is quarantined for legal, never served to anyone else, and purged after retention;
- a novel image is signed at once, its credential stating what was measured;
- an image close to a watchlist work is refused;
- a face in an image whose request declared nobody goes to a reviewer, whose approval signs
  exactly that image and names them in the credential; a rejection never signs or serves it.
"""

from __future__ import annotations

import io
import json
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

skimage_data = pytest.importorskip("skimage.data")

from governance.audit.tables import AuditEntry  # noqa: E402
from governance.clock import utcnow  # noqa: E402
from governance.jobs.tables import Job, OutputReview  # noqa: E402
from governance.ledger.tables import Output  # noqa: E402
from governance.lifecycle import output_review  # noqa: E402
from governance.registry import assets, licences, models_registry, training_sets  # noqa: E402
from tests.api.conftest import auth  # noqa: E402
from tests.api.test_flow import WEIGHTS, sign, studio  # noqa: E402,F401  (fixture)
from tests.training import attest_model  # noqa: E402

SIDE = 256
REPO_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def encoded(pixels: np.ndarray, size: int = SIDE) -> bytes:
    """Pixels as the generator writes a PNG of the job's size (PIL, no metadata)."""
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG")
    return out.getvalue()


def copied(pixels: np.ndarray) -> bytes:
    """What a copier makes of a work: 10% cropped off, resized, JPEG q=70, colour-shifted."""
    h, w = pixels.shape[:2]
    crop = Image.fromarray(pixels[h // 10:, w // 10:])
    jpeg = io.BytesIO()
    crop.resize((int(crop.width * 0.8), int(crop.height * 0.8))).save(jpeg, format="JPEG", quality=70)
    shifted = np.asarray(Image.open(jpeg).convert("RGB"), dtype=np.float32)
    shifted = np.clip(shifted * np.array([1.12, 0.97, 0.85]) + np.array([8, 0, -6]), 0, 255).astype(np.uint8)
    return encoded(shifted)


@pytest.fixture
def reviewed(studio, settings):
    """A model trained on a licensed photo; a library photo licensed as a reference only; and a
    photo on legal's watchlist: each fingerprinted into the real index as it is registered."""
    licences.add_licence("LIC-STILLS", "Still Life Stock", grants=["ai_training", "concept", "previs", "final_frame"],
                         territories=["WW"], starts_on=date(2020, 1, 1))
    licences.add_licence("LIC-REF-ONLY", "Lab Archive", grants=["ai_reference"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    coffee, _ = assets.register_asset(encoded(skimage_data.coffee(), 320), media_type="image/png",
                                      title="Coffee still", licence="LIC-STILLS")
    training_sets.create_training_set("stills", [(coffee["sha256"], None)])
    models_registry.register_model("stills-model", "1", WEIGHTS, training_set="stills")
    attest_model("stills-model:1", settings)  # final frames need an attested model
    models_registry.set_status("stills-model:1", "approved")
    slide, _ = assets.register_asset(encoded(skimage_data.immunohistochemistry(), 320), media_type="image/png",
                                     title="Stained slide", licence="LIC-REF-ONLY")
    cat, _ = assets.register_asset(encoded(skimage_data.chelsea(), 320), media_type="image/png",
                                   title="A living painter's cat", watchlist=True, watchlist_note="living artist")
    assert {a["fingerprint"]["status"] for a in (coffee, slide, cat)} == {"indexed"}
    return {"coffee": coffee["sha256"], "slide": slide["sha256"], "cat": cat["sha256"]}


def queued(client, studio, people=None, use="previs") -> str:
    body = {"production": "harbour-lights", "use": use, "territory": "GB", "model": "stills-model:1",
            "prompt": "a still life on a wooden table", "references": [], "people": people or [],
            "params": {"seed": 7, "steps": 10, "width": SIDE, "height": SIDE}}
    made = client.post("/api/v1/requests", json=body, headers=auth(studio.tokens["pat-producer"]))
    assert made.status_code == 201 and made.json["status"] == "queued", made.json["decision"]["violations"]
    job_id = made.json["job"]["id"]
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(studio.tokens["gpu-worker"])).status_code == 200
    return str(job_id)


def full(client, studio, answer) -> dict:
    """The whole review a /sign answer names (the worker is told only what became of its image),
    as legal reads it."""
    assert answer.status_code == 202, answer.json
    assert set(answer.json) == {"id", "job_id", "status", "outcome"}
    shown = client.get(f"/api/v1/output-reviews/{answer.json['id']}", headers=auth(studio.tokens["lee-legal"]))
    assert shown.status_code == 200, shown.json
    return dict(shown.json)


def claim_json(sha256: str) -> dict:
    return json.loads(Output.get(Output.sha256 == sha256).claim_json)


def test_a_transformed_training_image_is_found_and_held_for_legal_naming_it(client, studio, reviewed):
    job_id = queued(client, studio)
    answer = sign(client, studio.tokens["gpu-worker"], job_id, copied(skimage_data.coffee()))
    assert answer.status_code == 202, answer.json
    review = full(client, studio, answer)
    assert (review["status"], review["outcome"]) == ("held", "needs_approval")
    [approval] = review["approvals"]
    assert approval["rule"] == "output-copy-of-licensed-work-needs-legal"
    facts = review["facts"]
    assert facts["nearest_asset"] == reviewed["coffee"] and facts["nearest_origin"] == "training_set"
    assert facts["nearest_title"] == "Coffee still" and facts["nearest_distance"] <= 0.14
    assert facts["nearest_licence"] == "LIC-STILLS" and facts["nearest_licence_covers_use"] is True
    assert Output.select().count() == 0 and Job.get_by_id(job_id).status == "awaiting_output_review"
    # the rule asks for legal: an approver may look but not decide
    t = studio.tokens
    refused = client.post(f"/api/v1/output-reviews/{review['id']}/decision", json={"verdict": "approved"},
                          headers=auth(t["ada-approver"]))
    assert refused.status_code == 403 and "legal" in refused.json["detail"]
    assert OutputReview.get_by_id(review["id"]).status == "held"


def test_a_transformed_uncleared_work_is_refused_naming_it_and_quarantined(client, studio, reviewed, settings):
    job_id = queued(client, studio)
    image = copied(skimage_data.immunohistochemistry())
    answer = sign(client, studio.tokens["gpu-worker"], job_id, image)
    assert answer.status_code == 202, answer.json
    review = full(client, studio, answer)
    assert (review["status"], review["outcome"]) == ("refused", "deny")
    [violation] = review["violations"]
    assert violation["rule"] == "output-not-an-uncleared-copy"
    assert {e["path"] for e in violation["evidence"]} == {"output.nearest_distance",
                                                          "output.nearest_licence_covers_use"}
    facts = review["facts"]
    assert (facts["nearest_asset"], facts["nearest_origin"], facts["nearest_licence"]) == \
        (reviewed["slide"], "other", "LIC-REF-ONLY")
    assert facts["nearest_distance"] <= 0.14 and facts["nearest_licence_covers_use"] is False
    # nothing signed, the job finished unsigned, the image kept privately for legal
    assert Output.select().count() == 0 and not any(settings.outputs_dir.glob("*"))
    assert Job.get_by_id(job_id).status == "output_refused"
    row = OutputReview.get_by_id(review["id"])
    assert Path(row.file_path).read_bytes() == image and os.stat(row.file_path).st_mode & 0o777 == 0o600
    assert AuditEntry.select().where(AuditEntry.action == "output.refused").count() == 1
    # never served to the producer or the approver; legal reads it
    t = studio.tokens
    assert client.get(f"/api/v1/output-reviews/{review['id']}/image", headers=auth(t["pat-producer"])).status_code \
        == 403
    assert client.get(f"/api/v1/output-reviews/{review['id']}", headers=auth(t["pat-producer"])).status_code == 404
    assert client.get(f"/api/v1/output-reviews/{review['id']}/image", headers=auth(t["ada-approver"])).status_code \
        == 404
    shown = client.get(f"/api/v1/output-reviews/{review['id']}/image", headers=auth(t["lee-legal"]))
    assert shown.status_code == 200 and shown.data == image and shown.headers["Cache-Control"] == "no-store"
    # a retry of the same call gets the same review and records nothing more
    again = sign(client, t["gpu-worker"], job_id, image)
    assert again.status_code == 202 and again.json["id"] == review["id"] and OutputReview.select().count() == 1
    # and once the retention passed it is deleted
    assert output_review.purge(utcnow() + timedelta(days=settings.quarantine_retention_days + 1)) == 1
    assert not Path(row.file_path).exists() and OutputReview.get_by_id(review["id"]).status == "purged"
    assert client.get(f"/api/v1/output-reviews/{review['id']}/image", headers=auth(t["lee-legal"])).status_code \
        == 404


def test_a_novel_image_is_signed_at_once_stating_what_was_measured(client, studio, reviewed):
    job_id = queued(client, studio)
    answer = sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.rocket()))
    assert answer.status_code == 201, answer.json
    evaluation = claim_json(answer.json["sha256"])["evaluation"]
    assert evaluation["decision"] == "allow" and evaluation["reviewer"] is None and evaluation["faces"] == 0
    assert evaluation["nearest_distance"] > 0.14 and evaluation["policy_version"] == "urn:slate:policy:studio-default@7"
    assert set(evaluation) >= {"fingerprint_version", "index_format", "detector_version", "image_sha256"}
    review = OutputReview.get(OutputReview.job_id == job_id)
    assert (review.status, review.output_sha256, review.file_path) == ("allowed", answer.json["sha256"], None)


def test_an_image_close_to_a_watchlist_work_is_refused(client, studio, reviewed):
    job_id = queued(client, studio)
    answer = sign(client, studio.tokens["gpu-worker"], job_id, copied(skimage_data.chelsea()))
    assert answer.status_code == 202, answer.json
    # a copy of it: both an uncleared copy (no licence of a watchlist work covers output use) and an imitation
    assert {v["rule"] for v in full(client, studio, answer)["violations"]} == {"output-not-an-uncleared-copy",
                                                              "output-not-imitating-a-watchlist-work"}
    assert full(client, studio, answer)["facts"]["watchlist_asset"] == reviewed["cat"]
    assert answer.json["status"] == "refused"
    assert Output.select().count() == 0


def test_a_face_nobody_declared_goes_to_a_reviewer_whose_approval_signs_that_image(client, studio, reviewed):
    job_id = queued(client, studio)
    image = encoded(skimage_data.astronaut())
    answer = sign(client, studio.tokens["gpu-worker"], job_id, image)
    assert answer.status_code == 202, answer.json
    review = full(client, studio, answer)
    assert (review["status"], review["outcome"]) == ("held", "needs_approval")
    assert [a["rule"] for a in review["approvals"]] == ["output-faces-without-declared-people"]
    assert review["facts"]["faces"] >= 1 and Job.get_by_id(job_id).status == "awaiting_output_review"
    t = studio.tokens
    # the approver sees it in the queue and looks at the pixels
    waiting = client.get("/api/v1/output-reviews?status=held", headers=auth(t["ada-approver"]))
    assert [r["id"] for r in waiting.json] == [review["id"]]
    assert client.get(f"/api/v1/output-reviews/{review['id']}/image", headers=auth(t["ada-approver"])).data == image
    # the requester may not decide; a producer's token is refused by role
    assert client.post(f"/api/v1/output-reviews/{review['id']}/decision", json={"verdict": "approved"},
                       headers=auth(t["pat-producer"])).status_code == 403
    decided = client.post(f"/api/v1/output-reviews/{review['id']}/decision",
                          json={"verdict": "approved", "comment": "crew member, cleared"},
                          headers=auth(t["ada-approver"]))
    assert decided.status_code == 200, decided.json
    assert (decided.json["status"], decided.json["reviewer"]) == ("approved", "ada-approver")
    sha = decided.json["output_sha256"]
    evaluation = claim_json(sha)["evaluation"]
    assert (evaluation["reviewer"], evaluation["decision"], evaluation["image_sha256"]) == \
        ("ada-approver", "needs_approval", review["image_sha256"])
    assert Job.get_by_id(job_id).status == "succeeded" and Job.get_by_id(job_id).output_sha256 == sha
    assert OutputReview.get_by_id(review["id"]).file_path is None
    download = client.get(f"/api/v1/outputs/{sha}/image", headers=auth(t["pat-producer"]))
    verdict = client.post("/api/v1/verify", headers=auth(t["aud-auditor"]), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(download.data), "out.png", "image/png")})
    assert verdict.json["outcome"] == "verified", verdict.json
    # decided once only
    assert client.post(f"/api/v1/output-reviews/{review['id']}/decision", json={"verdict": "rejected"},
                       headers=auth(t["lee-legal"])).status_code == 409


def test_a_rejected_image_is_never_signed_or_served(client, studio, reviewed):
    job_id = queued(client, studio)
    answer = sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.astronaut()))
    assert answer.status_code == 202 and answer.json["status"] == "held"
    t = studio.tokens
    review_id = answer.json["id"]
    rejected = client.post(f"/api/v1/output-reviews/{review_id}/decision",
                           json={"verdict": "rejected", "comment": "an extra nobody cleared"},
                           headers=auth(t["lee-legal"]))
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert Output.select().count() == 0 and Job.get_by_id(job_id).status == "output_refused"
    assert client.get(f"/api/v1/output-reviews/{review_id}/image", headers=auth(t["ada-approver"])).status_code \
        == 404
    # the worker cannot get it signed by trying again
    again = sign(client, t["gpu-worker"], job_id, encoded(skimage_data.astronaut()))
    assert again.status_code == 202 and again.json["status"] == "rejected" and Output.select().count() == 0


def test_a_damaged_index_refuses_to_judge_and_records_nothing(client, studio, reviewed, settings):
    job_id = queued(client, studio)
    index_file = settings.index_dir / "assets.faiss"
    index_file.write_bytes(index_file.read_bytes()[:100])
    answer = sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.rocket()))
    assert answer.status_code == 503 and "slate index rebuild" in answer.json["hint"]
    assert Output.select().count() == 0 and OutputReview.select().count() == 0
    assert Job.get_by_id(job_id).status == "running"  # still the worker's, to sign once the index is back


def test_the_reviewers_page_shows_the_image_beside_its_nearest_works_and_decides(app, client, studio, reviewed):
    from tests.web.conftest import Browser
    job_id = queued(client, studio)
    held = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.astronaut())))
    ada = Browser(app.test_client())
    assert ada.sign_in(studio.tokens["ada-approver"]).status_code == 302
    listing = ada.get("/output-reviews").get_data(as_text=True)
    assert held["job_id"] in listing and "Faces in an image whose request declared nobody depicted" in listing
    page = ada.get(f"/output-reviews/{held['id']}").get_data(as_text=True)
    assert f"/output-reviews/{held['id']}/image" in page and page.count('class="face-box"') == held["facts"]["faces"]
    shown = [m["asset"] for m in held["facts"]["matches"]]
    assert shown and all(f"/output-reviews/{held['id']}/matches/{sha}.jpg" in page for sha in shown)
    assert ada.get(f"/output-reviews/{held['id']}/image").mimetype == "image/png"
    thumb = ada.get(f"/output-reviews/{held['id']}/matches/{shown[0]}.jpg")
    assert thumb.status_code == 200 and thumb.data[:3] == b"\xff\xd8\xff"
    # only a work the review itself names: not any asset's thumbnail by its hash
    unnamed = next(sha for sha in reviewed.values() if sha not in shown) if len(shown) < 3 else "f" * 64
    assert ada.get(f"/output-reviews/{held['id']}/matches/{unnamed}.jpg").status_code == 404
    pat = Browser(app.test_client())
    pat.sign_in(studio.tokens["pat-producer"])
    assert pat.get(f"/output-reviews/{held['id']}").status_code == 403
    assert pat.get(f"/output-reviews/{held['id']}/image").status_code == 403
    decided = ada.post(f"/output-reviews/{held['id']}/decision", {"verdict": "approved", "comment": "cleared"})
    assert decided.status_code == 302 and OutputReview.get_by_id(held["id"]).status == "approved"
    assert Output.select().count() == 1


def test_a_final_frame_far_from_the_productions_look_goes_to_an_approver(client, studio, reviewed):
    from governance.registry.looks import add_look
    add_look("harbour-lights", reviewed["coffee"], by=None)
    t = studio.tokens
    body = {"production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": "stills-model:1",
            "prompt": "a still life on a wooden table", "references": [], "people": [],
            "params": {"seed": 7, "steps": 10, "width": SIDE, "height": SIDE}}
    made = client.post("/api/v1/requests", json=body, headers=auth(t["pat-producer"]))
    request_id = made.json["request"]["id"]
    for who in ("ada-approver", "lee-legal"):  # the request's own sign-offs, before anything is made
        assert client.post(f"/api/v1/requests/{request_id}/approval", json={"verdict": "approved", "comment": "ok"},
                           headers=auth(t[who])).status_code == 200
    job_id = Job.get(Job.request == request_id).id
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(t["gpu-worker"])).status_code == 200
    answer = sign(client, t["gpu-worker"], job_id, encoded(skimage_data.rocket()))
    assert answer.status_code == 202, answer.json
    assert [a["rule"] for a in full(client, studio, answer)["approvals"]] == ["final-frame-off-the-look-needs-approval"]
    facts = full(client, studio, answer)["facts"]
    assert facts["look_references"] == 1 and facts["style_distance"] > 0.15


def test_policy_replay_replays_output_decisions_too(client, studio, reviewed, tmp_path):
    from click.testing import CliRunner

    from governance.cli import cli
    job_id = queued(client, studio)
    held = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.astronaut())))
    # legal's draft drops the faces rule: that image would have been signed at once
    text = (REPO_POLICIES / "studio-default.yaml").read_text()
    start = text.index("  - id: output-faces-without-declared-people")
    end = text.index("  # output.style_distance")
    draft = tmp_path / "studio-default.yaml"
    draft.write_text(text[:start] + text[end:])
    settings = client.application.config["SLATE_SETTINGS"]
    result = CliRunner().invoke(cli, ["policy", "replay", str(draft), "--json"],
                                env={"SLATE_HOME": str(settings.home)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [flip] = [e for e in report["flipped"] if e["review"] == held["id"]]
    assert (flip["old"], flip["new"], flip["request"]) == ("needs_approval", "allow", held["request_id"])
    assert flip["reasons_removed"] == ["approval output-faces-without-declared-people@output"]


def test_the_cli_lists_held_images_and_decides_them_as_the_api_does(client, studio, reviewed):
    from click.testing import CliRunner

    from governance.cli import cli
    job_id = queued(client, studio)
    held = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.astronaut())))
    env = {"SLATE_HOME": str(client.application.config["SLATE_SETTINGS"].home)}

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    listed = run("output", "reviews", "--status", "held", "--by", "ada-approver")
    assert listed.exit_code == 0 and held["id"] in listed.output
    assert "output-faces-without-declared-people" in listed.output
    # a producer is not a reviewer
    assert run("output", "reviews", "--by", "pat-producer").exit_code != 0
    approved = run("output", "review", held["id"], "--verdict", "approved", "--comment", "cleared",
                   "--by", "ada-approver")
    assert approved.exit_code == 0 and "approved, signed as" in approved.output, approved.output
    row = OutputReview.get_by_id(held["id"])
    assert (row.status, row.reviewer) == ("approved", "ada-approver") and row.output_sha256
    assert claim_json(row.output_sha256)["evaluation"]["reviewer"] == "ada-approver"


def _registered_performer(settings, uses: list[str]) -> None:
    """Eileen, a performer of harbour-lights whose reference photo (the astronaut) is registered."""
    from governance.registry import people
    from tests.rights import grant_consent
    people.add_person("Eileen Collins", productions=["harbour-lights"])
    grant_consent(settings, "Eileen Collins", uses=uses, productions=["harbour-lights"], territories=["WW"],
                  valid_from=date(2020, 1, 1), valid_until=date(2030, 12, 31))
    headshot = skimage_data.astronaut()[10:240, 110:340]  # her head and shoulders only
    assets.register_asset(encoded(headshot, 320), media_type="image/png", title="Eileen, headshot",
                          people=["Eileen Collins"], production="harbour-lights")


def astronaut_again() -> bytes:
    """The whole picture (not the headshot's framing: no copy of it), brighter and JPEG-worn."""
    pixels = skimage_data.astronaut()
    jpeg = io.BytesIO()
    Image.fromarray(np.clip(pixels.astype(np.int16) + 18, 0, 255).astype(np.uint8)).save(jpeg, "JPEG", quality=75)
    return encoded(np.asarray(Image.open(jpeg).convert("RGB")))


def test_a_registered_person_recognised_but_not_declared_is_refused(client, studio, reviewed, settings):
    from governance.registry.tables import PersonFace
    _registered_performer(settings, ["likeness", "reference", "biometric_matching"])
    assert PersonFace.select().count() == 1
    job_id = queued(client, studio)  # declares nobody
    answer = sign(client, studio.tokens["gpu-worker"], job_id, astronaut_again())
    assert answer.status_code == 202, answer.json
    review = full(client, studio, answer)
    assert (review["status"], review["outcome"]) == ("refused", "deny")
    assert [v["rule"] for v in review["violations"]] == ["output-shows-no-undeclared-registered-person"]
    assert review["facts"]["people_matched"] == ["Eileen Collins"] == review["facts"]["undeclared_people"]
    # no biometric data anywhere in what is said about it
    assert "descriptor" not in json.dumps(review) and Output.select().count() == 0


def test_without_a_consent_to_matching_nobody_is_recognised(client, studio, reviewed, settings):
    from governance.registry.tables import PersonFace
    _registered_performer(settings, ["likeness", "reference"])
    assert PersonFace.select().count() == 0  # no consent to matching: no face kept
    job_id = queued(client, studio)
    answer = sign(client, studio.tokens["gpu-worker"], job_id, astronaut_again())
    assert answer.status_code == 202 and answer.json["status"] == "held"
    review = full(client, studio, answer)
    assert review["facts"]["people_matched"] == [] and review["violations"] == []


def test_a_revoked_consent_to_matching_stops_recognition_at_once(client, studio, reviewed, settings):
    from governance.registry.tables import Consent, Person
    from governance.revocation import revoke_consent
    from tests.rights import LEE
    _registered_performer(settings, ["likeness", "reference", "biometric_matching"])
    revoke_consent(Consent.select().join(Person).where(Person.name == "Eileen Collins").get().id, "withdrawn",
                   by=LEE)
    job_id = queued(client, studio)
    answer = sign(client, studio.tokens["gpu-worker"], job_id, astronaut_again())
    assert answer.status_code == 202 and full(client, studio, answer)["facts"]["people_matched"] == []


def test_a_studio_face_model_set_in_the_settings_enrols_and_matches_with_it(settings, tmp_path):
    """``SLATE_FACE_MATCHER_MODEL`` (a real ONNX file) and its threshold: the app uses that model,
    enrols reference faces under its version and compares only faces of that version."""
    import dataclasses

    from governance.app import create_app
    from governance.db import close_database
    from governance.registry import faces as registered
    from governance.settings import Settings
    from tests.perception.test_faces import tiny_model
    path, _ = tiny_model(tmp_path, seed=1)
    configured = Settings.from_env({"SLATE_HOME": str(settings.home), "SLATE_FACE_MATCHER_MODEL": str(path),
                                    "SLATE_FACE_MATCHER_THRESHOLD": "0.05", "SLATE_FACE_MATCHER_INPUT": "32"})
    assert (configured.face_matcher_model, configured.face_matcher_threshold) == (path.resolve(), 0.05)
    with pytest.raises(Exception, match="SLATE_FACE_MATCHER_THRESHOLD"):
        Settings.from_env({"SLATE_HOME": str(settings.home), "SLATE_FACE_MATCHER_MODEL": str(path)})
    create_app(dataclasses.replace(configured, policies_dir=settings.policies_dir), testing=True)
    try:
        assert registered.matcher().VERSION.startswith("onnx-sha256:")
        pixels = skimage_data.astronaut()
        descriptor = registered.reference_face(encoded(pixels, 512), 40_000_000)
        assert descriptor is not None and descriptor.matcher == registered.matcher().VERSION
        assert "withheld" in repr(descriptor)
        # a model that cannot take the configured crop is a configuration error naming the setting
        from governance.errors import ConfigurationError
        registered.use_matcher(path, 0.05, input_size=112)
        with pytest.raises(ConfigurationError, match="cannot run on a 112-pixel face crop") as refused:
            registered.reference_face(encoded(pixels, 512), 40_000_000)
        assert "SLATE_FACE_MATCHER_INPUT" in (refused.value.hint or "")
    finally:
        close_database()


def test_a_right_revoked_while_an_image_is_held_blocks_it_and_nothing_is_signed(client, studio, reviewed):
    from governance.revocation import take_down
    from tests.rights import LEE
    job_id = queued(client, studio)
    held = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, copied(skimage_data.coffee())))
    assert held["status"] == "held"
    take_down("LIC-STILLS", "the archive withdrew it", by=LEE)  # the training image's licence
    assert Job.get_by_id(job_id).status == "blocked"
    decided = client.post(f"/api/v1/output-reviews/{held['id']}/decision", json={"verdict": "approved"},
                          headers=auth(studio.tokens["lee-legal"]))
    assert decided.status_code == 409 and Output.select().count() == 0
    assert OutputReview.get_by_id(held["id"]).status == "held"


def test_a_producer_reads_the_measurements_of_their_outputs_review_not_who_or_what_matched(client, studio,
                                                                                           reviewed):
    job_id = queued(client, studio)
    made = encoded(skimage_data.astronaut())
    review = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, made))
    seen = client.get(f"/api/v1/output-reviews/{review['id']}", headers=auth(studio.tokens["pat-producer"])).json
    assert seen["facts"]["faces"] == review["facts"]["faces"] and "matches" not in seen["facts"]
    assert not {"nearest_asset", "nearest_title", "people_matched", "face_boxes"} & set(seen["facts"])


def test_a_stored_path_edited_to_another_file_is_never_served_or_deleted(client, studio, reviewed, settings):
    job_id = queued(client, studio)
    made = encoded(skimage_data.astronaut())
    review = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, made))
    secret = settings.data_dir / "not-for-reviewers.txt"
    secret.write_text("secret")
    OutputReview.update(file_path=str(secret)).where(OutputReview.id == review["id"]).execute()
    answer = client.get(f"/api/v1/output-reviews/{review['id']}/image", headers=auth(studio.tokens["lee-legal"]))
    assert answer.status_code == 404 and secret.exists()


def test_a_watchlist_work_behind_five_nearer_cleared_works_is_still_found(client, studio, reviewed):
    image = copied(skimage_data.chelsea())
    pixels = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"), dtype=np.int16)
    for level in range(1, 7):  # cleared works nearer to the image than the protected one
        variant = encoded(np.clip(pixels + level, 0, 255).astype(np.uint8))
        assets.register_asset(variant, media_type="image/png", title=f"licensed variant {level}",
                              licence="LIC-STILLS")
    job_id = queued(client, studio)
    review = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, image))
    shown = [m["title"] for m in review["facts"]["matches"]]
    assert len(shown) == 5 and all(t.startswith("licensed variant") for t in shown)  # the cat is not among them
    assert review["facts"]["watchlist_asset"] == reviewed["cat"]
    # the copy rules judge the uncleared work among the close ones, not the cleared nearest
    assert review["facts"]["nearest_asset"] == reviewed["cat"]
    assert {v["rule"] for v in review["violations"]} == {"output-not-imitating-a-watchlist-work",
                                                         "output-not-an-uncleared-copy"}


def test_an_image_two_rules_hold_for_different_people_is_signed_once_both_have_signed_off(client, studio,
                                                                                         reviewed):
    # a licensed photo of a person, copied: legal must look at the copy, an approver at the face
    assets.register_asset(encoded(skimage_data.astronaut(), 320), media_type="image/png", title="Licensed portrait",
                          licence="LIC-STILLS")
    job_id = queued(client, studio)
    held = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.astronaut())))
    assert {a["rule"] for a in held["approvals"]} == {"output-copy-of-licensed-work-needs-legal",
                                                      "output-faces-without-declared-people"}
    t = studio.tokens

    def approve(who: str):
        return client.post(f"/api/v1/output-reviews/{held['id']}/decision", json={"verdict": "approved"},
                           headers=auth(t[who]))
    first = approve("ada-approver")
    assert first.status_code == 200 and first.json["status"] == "held" and Output.select().count() == 0
    assert [s["approver"] for s in first.json["signoffs"]] == ["ada-approver"]
    again = approve("ada-approver")  # the same person cannot fill the other slot
    assert again.status_code == 403 and "legal" in again.json["detail"]
    second = approve("lee-legal")
    assert second.status_code == 200 and second.json["status"] == "approved", second.json
    assert claim_json(second.json["output_sha256"])["evaluation"]["reviewer"] == "ada-approver, lee-legal"


def test_a_work_registered_but_not_yet_in_the_index_file_is_still_found(client, studio, reviewed, settings):
    """Between a registration's commit and its add to the file (or after a crash there), the
    asset is searched from its stored fingerprint: no 503 window, and no copy let through."""
    from governance.registry import fingerprints
    fingerprints.use_folder(None)  # as a registration whose add to the file has not happened yet
    late, _ = assets.register_asset(encoded(skimage_data.rocket(), 320), media_type="image/png",
                                    title="Late launch", licence="LIC-REF-ONLY")
    fingerprints.use_folder(settings.index_dir)
    assert "out of step" in (fingerprints.status(settings.index_dir).problem or "")  # the file lacks it
    job_id = queued(client, studio)
    review = full(client, studio, sign(client, studio.tokens["gpu-worker"], job_id,
                                       copied(skimage_data.rocket())))
    assert review["facts"]["nearest_asset"] == late["sha256"] and review["facts"]["nearest_distance"] <= 0.14
    assert [v["rule"] for v in review["violations"]] == ["output-not-an-uncleared-copy"]


def test_the_publish_confirmation_replays_recorded_output_reviews_too(client, studio, reviewed):
    """Output reviews' ids are not numbers: the confirmation page's replay key must not read them as one."""
    from governance.lifecycle.policy_publish import publish_preview
    from governance.policy import versions
    from tests.web.test_policies import REF, draft_v2
    job_id = queued(client, studio)
    assert sign(client, studio.tokens["gpu-worker"], job_id, encoded(skimage_data.rocket())).status_code == 201
    added = versions.add_version(draft_v2(), "lee-legal", "draft")
    preview = publish_preview(f"{REF}@{added['version']}")
    assert preview.replayed >= 1
