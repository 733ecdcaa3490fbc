"""A small studio with signed outputs, driven in-process through the API (the test plays
the generator worker), for provenance search, lineage and revocation tests."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from governance import demo
from governance.cli import cli
from governance.registry import assets, licences, models_registry, people, training_sets
from tests import workers
from tests.api.conftest import app, auth, client  # noqa: F401 (fixtures)
from tests.conftest import DEMO_POLICY, Stage
from tests.training import attest_model

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = {"slate-studio:1": "b" * 64, "other:1": "c" * 64}


#: the size of a job that asks for none: what the worker's image must be
JOB_SIDE = 128


def png(seed: int, side: int = 64) -> bytes:
    image = Image.new("RGB", (side, side), (seed * 37 % 255, seed * 11 % 255, 120))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Studio:
    client: object
    tokens: dict[str, str]
    plate: str              # licensed reference plate (LIC-NORTHLIGHT-PLATES)
    headshot: str           # reference asset depicting Mara Quinn (LIC-NORTHLIGHT-PLATES)
    style: list[str]        # training assets of slate-studio:1 (LIC-STUDIO-OWN); style[0] depicts Mara
    other_style: str        # training asset of other:1 (LIC-OTHER)
    outputs: dict[str, str] = field(default_factory=dict)

    def submit(self, **overrides):
        body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "slate-studio:1",
                "prompt": "a quiet harbour at dusk, wide shot", "references": [], "people": [],
                "params": {"seed": 7, "steps": 10}}
        body.update(overrides)
        response = self.client.post("/api/v1/requests", json=body, headers=auth(self.tokens["pat-producer"]))
        assert response.status_code == 201, response.json
        return response.json

    def approve(self, request_id: int, token: str = "ada-approver"):
        return self.client.post(f"/api/v1/requests/{request_id}/approval",
                                json={"verdict": "approved", "comment": "ok"}, headers=auth(self.tokens[token]))

    def sign(self, job_id: str, model: str = "slate-studio:1", seed: int = 1):
        token = self.tokens["gpu-worker"]
        image = png(seed, JOB_SIDE)
        return self.client.post("/api/v1/sign", headers=auth(token), content_type="multipart/form-data",
                                data={"image": (io.BytesIO(image), "out.png", "image/png"), "job_id": job_id,
                                      "model_identity": WEIGHTS[model], "environment": "{}",
                                      "receipt": workers.receipt(token, job_id, image)})

    def make(self, name: str, seed: int, **overrides) -> str:
        """Submit, approve if needed, sign: the signed output's SHA-256 (kept under ``name``)."""
        view = self.submit(**overrides)
        # final frames need legal and an approver (ada signs last, as the credential's approver);
        # a request that needs no legal sign-off refuses lee's (403) and ada's alone queues it
        for signer in ("lee-legal", "ada-approver"):
            if view["status"] == "awaiting_approval":
                answer = self.approve(view["request"]["id"], signer)
                if answer.status_code == 200:
                    view = answer.json
        assert view["status"] == "queued", view
        signed = self.sign(view["job"]["id"], overrides.get("model", "slate-studio:1"), seed)
        assert signed.status_code == 201, signed.json
        self.outputs[name] = signed.json["sha256"]
        return signed.json["sha256"]


def _new_studio(app, client, seeded) -> Studio:
    people.add_production("northern-line")
    open_grants = ["ai_training", "ai_reference", "concept", "previs", "final_frame", "marketing"]
    licences.add_licence("LIC-STUDIO-OWN", "The Studio", grants=open_grants, territories=["WW"],
                         starts_on=date(2020, 1, 1))
    licences.add_licence("LIC-OTHER", "Other Archive", grants=open_grants, territories=["WW"],
                         starts_on=date(2020, 1, 1))
    style = [assets.register_asset(png(100 + i), media_type="image/png", title=f"style {i}",
                                   licence="LIC-STUDIO-OWN", people=["Mara Quinn"] if i == 0 else [])[0]["sha256"]
             for i in range(3)]
    other = assets.register_asset(png(200), media_type="image/png", title="other style",
                                  licence="LIC-OTHER")[0]["sha256"]
    headshot = assets.register_asset(png(300), media_type="image/png", title="Mara headshot",
                                     licence=demo.REFERENCE_LICENCE, people=["Mara Quinn"])[0]["sha256"]
    training_sets.create_training_set("studio-style-v1", [(s, None) for s in style])
    training_sets.create_training_set("other-v1", [(other, None)])
    models_registry.register_model("slate-studio", "1", WEIGHTS["slate-studio:1"], training_set="studio-style-v1")
    models_registry.register_model("other", "1", WEIGHTS["other:1"], training_set="other-v1")
    models_registry.set_status("slate-studio:1", "approved")
    # final frames need an attested model; these tests are about provenance
    attest_model("slate-studio:1", app.config["SLATE_SETTINGS"])
    attest_model("other:1", app.config["SLATE_SETTINGS"])
    models_registry.set_status("other:1", "approved")
    from governance.auth.users import add_user, issue_token
    add_user("bea-approver", ["approver"])
    tokens = {**seeded.tokens, "bea-approver": issue_token("bea-approver")["token"]}
    return Studio(client, tokens, seeded.reference_sha256, headshot, style, other)


def _sign_four(studio: Studio) -> Studio:
    studio.make("plain", 1)
    studio.make("plate", 2, use="final_frame", references=[studio.plate])
    view = studio.submit(people=["Mara Quinn"], prompt="portrait on the quay")
    assert view["status"] == "awaiting_approval", view
    approved = studio.approve(view["request"]["id"], "bea-approver").json
    studio.outputs["mara"] = studio.sign(approved["job"]["id"], seed=3).json["sha256"]
    studio.make("other", 4, model="other:1")
    return studio


def _kept(studio: Studio) -> dict[str, Any]:
    """What a template keeps of a studio built on its own app: all but the client."""
    return {f.name: getattr(studio, f.name) for f in fields(studio) if f.name != "client"}


def _built(app, *, signed: bool) -> dict[str, Any]:
    studio = _new_studio(app, app.test_client(), demo.seed(DEMO_POLICY, app.config["SLATE_SETTINGS"]))
    return _kept(_sign_four(studio) if signed else studio)


#: the studio (and its four signed outputs), built once per session and copied (tests.conftest.Templates)
STUDIO = Stage("provenance-studio", 2, partial(_built, signed=False))
SIGNED = Stage("provenance-signed", 3, partial(_built, signed=True))


@pytest.fixture(scope="session")
def provenance_studio_stage() -> Stage:
    return STUDIO


@pytest.fixture(scope="session")
def provenance_signed_stage() -> Stage:
    return SIGNED


@pytest.fixture
def studio(app, client, demo_template, provenance_studio_stage) -> Studio:
    copied = demo_template.copied(app)
    if copied is not None and copied[0] in (STUDIO.name, SIGNED.name):
        kept = copied[1]
        return Studio(client, dict(kept["tokens"]), kept["plate"], kept["headshot"], list(kept["style"]),
                      kept["other_style"], dict(kept["outputs"]))
    return _new_studio(app, client, demo_template.seeded(app))


@pytest.fixture
def signed(studio, app, demo_template, provenance_signed_stage) -> Studio:
    """Four signed outputs: plain previs; final frame with the plate (approved by ada);
    previs depicting Mara (approved by bea); previs with the other model."""
    copied = demo_template.copied(app)
    if copied is not None and copied[0] == SIGNED.name:
        return studio  # the copy holds them
    return _sign_four(studio)


@pytest.fixture
def run(signed, tmp_path):
    """``slate ARGS...`` in-process against the signed studio's folder."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env={"SLATE_HOME": str(tmp_path)}, catch_exceptions=False)
    return invoke
