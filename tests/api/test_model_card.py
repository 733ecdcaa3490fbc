"""A model's card over the API and the CLI: one function, and each caller sees what scope allows."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from governance.cli import cli
from governance.clock import utcnow
from governance.jobs.tables import OutputReview
from governance.policy.tables import GenerationRequest
from governance.registry import assets, licences, models_registry, people, training_sets
from governance.registry.tables import Model
from tests import rights
from tests.api.conftest import auth

CARD = "/api/v1/models/harbour-style:1/card"


def _reviewed(model: Model, production: str, distance: float, n: int) -> None:
    """An output review of this model's image for ``production`` measuring ``distance``."""
    request = GenerationRequest.create(requester="someone", production=production, use="concept", territory="GB",
                                       request_date=date(2025, 6, 1), model=model, references=[], people=[],
                                       prompt="a harbour", prompt_sha256="0" * 64, created_at=utcnow())
    OutputReview.create(id=f"review-{production}-{n}", job_id=f"job-{production}-{n}", request_id=request.id,
                        image_sha256=f"{n:064x}", status="allowed", outcome="allow", policy_uid="p", policy_version=1,
                        policy_sha256="0" * 64, violations=[], approvals=[], facts={"style_distance": distance},
                        inputs_digest="0" * 64, worker="w", model_identity="0" * 64, receipt="", environment={},
                        created_at=utcnow())


@pytest.fixture
def model(app: Any, tokens: dict[str, str]) -> Model:
    """harbour-style:1, trained on three stills of harbour-lights (LIC-H: credit owed, every use)
    and two of northern-line (LIC-N: concept and previs only); Lin Ito, shown in one harbour
    still, consented to AI training in every production and asks for credit in harbour-lights
    (the set is cleared everywhere: ``policy.clearance`` judges for every production and territory)."""
    settings = app.config["SLATE_SETTINGS"]
    licences.add_licence("LIC-H", "Harbour Archive", grants=["ai_training", "concept", "previs", "final_frame",
                                                             "marketing"],
                         territories=["WW"], starts_on=date(2024, 1, 1), attribution_required=True,
                         credit_text="Courtesy of Harbour Archive")
    licences.add_licence("LIC-N", "Northern Archive", grants=["ai_training", "concept", "previs"],
                         territories=["WW"], starts_on=date(2024, 1, 1))
    people.add_person("Lin Ito")
    rights.grant_consent(settings, "Lin Ito", uses=["ai_training"], productions=["*"],
                         territories=["WW"], valid_from=date(2024, 1, 1), valid_until=date(2030, 12, 31),
                         attribution_required=True, credit_text="Stills by Lin Ito")
    members = []
    for n in range(5):
        production, lic = ("harbour-lights", "LIC-H") if n < 3 else ("northern-line", "LIC-N")
        asset, _ = assets.register_asset(f"still {n}".encode(), media_type="image/png", title=f"Still {n}",
                                         licence=lic, production=production, people=["Lin Ito"] if n == 0 else ())
        members.append((asset["sha256"], lic))
    training_sets.create_training_set("harbour-stills", members)
    models_registry.register_model("harbour-style", "1", "56" * 32, training_set="harbour-stills")
    models_registry.set_status("harbour-style:1", "approved")
    row = Model.get(Model.name == "harbour-style")
    for n, distance in enumerate((0.2, 0.4, 0.3)):
        _reviewed(row, "harbour-lights", distance, n)
    _reviewed(row, "northern-line", 0.9, 9)
    return row


def test_the_card_lists_licences_credits_clearance_evaluation_and_uses(client: Any, tokens: dict[str, str],
                                                                      model: Model) -> None:
    card = client.get(CARD, headers=auth(tokens["legal"])).get_json()
    assert card["model"]["ref"] == "harbour-style:1" and card["model"]["status"] == "approved"
    assert card["training_set"]["size"] == 5 and card["training_set"]["merkle_root"] == model.training_set.merkle_root
    assert [(line["ref"], line["members"]) for line in card["licences"]] == [("LIC-H", 3), ("LIC-N", 2)]
    assert card["licences_not_shown"] == 0
    assert card["credits"] == ["Courtesy of Harbour Archive", "Stills by Lin Ito"]
    assert card["clearance"]["state"] == "clear"
    assert card["attestation"] is None
    assert card["evaluation"] == [
        {"production": "harbour-lights", "outputs": 3, "median_style_distance": 0.3},
        {"production": "northern-line", "outputs": 1, "median_style_distance": 0.9}]
    assert card["intended_uses"] == ["concept", "previs"]
    refused = {r["use"]: r["reasons"] for r in card["refused_uses"]}
    assert refused == {"final_frame": ["licence LIC-N (2 images) does not grant final_frame"],
                       "marketing": ["licence LIC-N (2 images) does not grant marketing"]}


def test_a_producer_sees_only_what_their_productions_may_see(client: Any, tokens: dict[str, str],
                                                            model: Model) -> None:
    from governance.audit.tables import AuditEntry
    from governance.registry.tables import TrainingClearance
    written = (AuditEntry.select().count(), TrainingClearance.select().count())
    ours = client.get(CARD, headers=auth(tokens["producer"])).get_json()
    assert [line["ref"] for line in ours["licences"]] == ["LIC-H"] and ours["licences_not_shown"] == 1
    assert [e["production"] for e in ours["evaluation"]] == ["harbour-lights"]
    assert {r["use"]: r["reasons"] for r in ours["refused_uses"]}["final_frame"] == [
        "1 licence(s) of other productions' images do not grant final_frame"]
    theirs = client.get(CARD, headers=auth(tokens["other-producer"])).get_json()
    assert [line["ref"] for line in theirs["licences"]] == ["LIC-N"]
    assert theirs["credits"] == []  # neither the harbour licence's credit nor Lin Ito's consent
    assert [e["production"] for e in theirs["evaluation"]] == ["northern-line"]
    assert "Lin Ito" not in json.dumps(theirs) and "LIC-H" not in json.dumps(theirs)
    assert (AuditEntry.select().count(), TrainingClearance.select().count()) == written  # reading wrote nothing


def test_a_takedown_of_a_training_licence_shows_on_the_card_and_leaves_no_intended_use(
        client: Any, tokens: dict[str, str], model: Model) -> None:
    taken = client.post("/api/v1/licences/LIC-N/takedown", headers=auth(tokens["legal"]),
                        json={"reason": "withdrawn by the archive"})
    assert taken.status_code == 200, taken.get_json()
    card = client.get(CARD, headers=auth(tokens["legal"])).get_json()
    assert card["clearance"]["state"] == "not_clear"
    assert card["clearance"]["problems"][0]["reason"].endswith("was taken down")
    assert card["intended_uses"] == []
    assert "its training set is not cleared for AI training" in card["refused_uses"][0]["reasons"]


def test_a_card_for_an_unknown_model_is_a_clear_404(client: Any, tokens: dict[str, str]) -> None:
    response = client.get("/api/v1/models/nothing:9/card", headers=auth(tokens["legal"]))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "no model 'nothing:9' is registered" in response.get_json()["detail"]


def test_slate_model_card_prints_the_same_card(app: Any, model: Model) -> None:
    settings = app.config["SLATE_SETTINGS"]
    env = {"SLATE_HOME": str(settings.home)}
    shown = CliRunner().invoke(cli, ["model", "card", "harbour-style:1", "--json"], env=env, catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    card = json.loads(shown.output)
    assert card["intended_uses"] == ["concept", "previs"] and card["clearance"]["state"] == "clear"
    text = CliRunner().invoke(cli, ["model", "card", "harbour-style:1"], env=env, catch_exceptions=False)
    assert "clearance: clear" in text.output and "intended uses: concept, previs" in text.output
