"""An owner's content credentials through the API and the signing flow: an image whose owner
said notAllowed to AI training can be a request's reference (its licence allows that) but not
a training member; its own C2PA manifest becomes the ingredient's manifest in the output's
credential; a manifest that cannot be read is a 422 and records nothing."""

from __future__ import annotations

import io
import json

import c2pa

from governance.audit.tables import AuditEntry
from governance.demo import REFERENCE_LICENCE
from governance.registry.tables import Asset, AssetManifest
from tests.api import test_flow
from tests.api.conftest import auth
from tests.api.test_flow import sign, submit
from tests.owner_credentials import OWNER, not_allowed_image

#: the flow's fixture: the demo studio and an approved model trained on a licensed set
studio = test_flow.studio


def upload(client, token, content: bytes, title: str = "Agency harbour photo", licence=REFERENCE_LICENCE):
    return client.post("/api/v1/assets", headers=auth(token), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "photo.png", "image/png"), "title": title,
                             "licence": licence})


def test_a_not_allowed_image_is_a_reference_whose_manifest_becomes_the_outputs_ingredient(client, studio):
    t = studio.tokens
    registered = upload(client, t["lee-legal"], not_allowed_image())
    assert registered.status_code == 201, registered.json
    creds = registered.json["credentials"]
    assert creds["training_mining"] == "notAllowed" and creds["signer"].startswith(OWNER)

    training = client.post("/api/v1/training-sets", headers=auth(t["lee-legal"]),
                           json={"name": "with-agency", "members": [{"asset": registered.json["sha256"]}]})
    assert training.status_code == 409 and OWNER in training.json["detail"]

    asked = submit(client, t["pat-producer"], references=[registered.json["sha256"]])
    assert asked.status_code == 201, asked.json
    assert asked.json["decision"]["decision"] == "allow", asked.json["decision"]
    job_id = asked.json["job"]["id"]
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(t["gpu-worker"])).status_code == 200
    signed = sign(client, t["gpu-worker"], job_id)
    assert signed.status_code == 201, signed.json
    image = client.get(f"/api/v1/outputs/{signed.json['sha256']}/image", headers=auth(t["pat-producer"])).data

    with c2pa.Reader("image/png", io.BytesIO(image)) as reader:
        store = json.loads(reader.json())
    [ingredient] = store["manifests"][store["active_manifest"]]["ingredients"]
    assert ingredient["instance_id"] == f"slate:sha256:{registered.json['sha256']}"
    assert ingredient["active_manifest"] == creds["active_manifest"]
    owners = store["manifests"][creds["active_manifest"]]
    assert owners["signature_info"]["common_name"] == OWNER
    mining = next(a for a in owners["assertions"] if a["label"] == "cawg.training-mining")
    assert mining["data"]["entries"]["cawg.ai_training"]["use"] == "notAllowed"


def test_a_manifest_that_cannot_be_read_is_a_422_and_records_nothing(client, studio):
    good = not_allowed_image(seed=21)
    before = (Asset.select().count(), AuditEntry.select().count())
    reply = upload(client, studio.tokens["lee-legal"], good[:len(good) // 2])
    assert reply.status_code == 422 and reply.mimetype == "application/problem+json"
    assert "C2PA manifest" in reply.json["detail"] and "nothing was registered" in reply.json["detail"]
    assert (Asset.select().count(), AuditEntry.select().count()) == before
    assert AssetManifest.select().count() == 0


def test_a_set_made_before_credentials_were_read_is_refused_once_the_owners_no_is_read(client, studio):
    """Defence in depth: a member whose owner's refusal was read only after its set was made
    (registered before Slate read credentials, its bytes registered again later) makes every
    request on the model a denial naming it."""
    from governance.registry import assets, models_registry, training_sets
    content = not_allowed_image(seed=22)
    asset = assets.register_asset(content, media_type="image/png", title="Old agency photo",
                                  licence="LIC-STUDIO-OWN")[0]
    Asset.update(credential_state=None, credential_signer=None, training_mining=None).execute()
    AssetManifest.delete().execute()
    training_sets.create_training_set("older-set", [(asset["sha256"], None)])
    models_registry.register_model("older", "1", "c" * 64, training_set="older-set")
    models_registry.set_status("older:1", "approved")
    assert submit(client, studio.tokens["pat-producer"], model="older:1").json["decision"]["decision"] == "allow"

    assets.register_asset(content, media_type="image/png", title="Old agency photo")  # read now
    decision = submit(client, studio.tokens["pat-producer"], model="older:1").json["decision"]
    assert decision["decision"] == "deny"
    [finding] = [v for v in decision["violations"] if v["rule"] == "training-not-refused-by-owner"]
    assert finding["subject"] == f"asset:{asset['sha256']}"
    assert finding["evidence"][0]["found"] == "notAllowed"


def test_a_kept_manifest_edited_in_the_database_is_never_signed_into_an_output(client, studio):
    """An insider with database access turning the owner's notAllowed into something else in
    the kept manifest: c2pa checks the ingredient's manifest against its claim, and Slate's
    verify-after-sign refuses the output (a 422), so no credential carries the forgery."""
    from governance.ledger.tables import Output
    t = studio.tokens
    registered = upload(client, t["lee-legal"], not_allowed_image(seed=23)).json
    kept = AssetManifest.get()
    assert b"notAllowed" in kept.store
    AssetManifest.update(store=bytes(kept.store).replace(b"notAllowed", b"yesAllowed")).execute()
    job_id = submit(client, t["pat-producer"], references=[registered["sha256"]]).json["job"]["id"]
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(t["gpu-worker"])).status_code == 200
    signed = sign(client, t["gpu-worker"], job_id)
    assert signed.status_code == 422 and signed.mimetype == "application/problem+json"
    assert "failed C2PA validation" in signed.json["detail"]
    assert Output.select().where(Output.job_id == job_id).count() == 0
