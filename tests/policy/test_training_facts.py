"""How one licence or consent is judged for training a model (plain functions, no database),
and the bounds of a training run's hyper-parameters."""

from __future__ import annotations

import pytest

from governance.errors import InvalidInput
from governance.lifecycle.training_params import TrainingParams
from governance.policy.training_facts import consent_covers_training, licence_refusal

LICENCE = {"ref": "LIC-1", "grants": ["ai_training", "previs"], "territories": ["GB", "IE"],
           "starts_on": "2025-01-01", "ends_on": "2026-12-31", "takedown": False, "attributes": {}}
CONSENT = {"status": "confirmed", "revoked": False, "uses": ["likeness", "ai_training"],
           "productions": ["harbour-lights"], "territories": ["WW"], "valid_from": "2025-01-01",
           "valid_until": "2026-12-31"}


def judged(**changes):
    return licence_refusal({**LICENCE, **changes}, "harbour-lights", "GB", "2026-06-01")


def test_a_licence_granting_ai_training_here_and_now_lets_its_image_train():
    assert judged() is None


@pytest.mark.parametrize("changes, reason", [
    ({"grants": ["previs"]}, "does not grant ai_training"),
    ({"territories": ["FR"]}, "does not cover territory GB"),
    ({"ends_on": "2026-05-31"}, "is not in force on 2026-06-01"),
    ({"starts_on": "2026-07-01"}, "is not in force on 2026-06-01"),
    ({"takedown": True}, "was taken down"),
    ({"attributes": {"projects": ["northern-line"]}}, "is limited to other projects"),
])
def test_a_licence_that_does_not_cover_training_here_says_why(changes, reason):
    assert judged(**changes) == f"licence LIC-1 {reason}"


def test_no_licence_is_a_reason_too():
    assert licence_refusal(None, "p", "GB", "2026-06-01") == "no licence"


@pytest.mark.parametrize("changes, covers", [
    ({}, True), ({"productions": ["*"]}, True), ({"uses": ["likeness"]}, False), ({"revoked": True}, False),
    ({"status": "pending"}, False), ({"productions": ["northern-line"]}, False),
    ({"territories": ["FR"]}, False), ({"valid_until": "2026-01-01"}, False),
])
def test_only_a_confirmed_unrevoked_consent_to_ai_training_here_covers_a_person(changes, covers):
    assert consent_covers_training({**CONSENT, **changes}, "harbour-lights", "GB", "2026-06-01") is covers


def test_a_lora_run_trains_no_autoencoder_and_unknown_keys_are_named():
    with pytest.raises(InvalidInput, match="autoencoder_steps must be 0"):
        TrainingParams(autoencoder_steps=10).for_method("lora")
    assert TrainingParams(autoencoder_steps=10).for_method("full").autoencoder_steps == 10
    with pytest.raises(InvalidInput, match="unknown training hyper-parameters: epochs"):
        TrainingParams.from_dict({"epochs": 3})
    with pytest.raises(InvalidInput) as refused:
        TrainingParams.from_dict({"steps": True, "resolution": 65})
    assert set(refused.value.fields) == {"steps", "resolution"}
