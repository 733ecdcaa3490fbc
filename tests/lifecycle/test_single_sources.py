"""Limits, statuses and territories are defined once: what the API accepts, the lifecycle
records and the generator runs, and nothing the API lets through is refused on a GPU host."""

from __future__ import annotations

import pytest

from governance.api.schemas import ListRequestsQuery, ParamsIn, RequestIn
from governance.errors import InvalidInput
from governance.jobs.statuses import JobStatus, RequestStatus
from governance.lifecycle import params
from governance.lifecycle.params import GenerationParams

generate = pytest.importorskip("generator.generate")


def job(**values):
    model = generate.ModelRef("m", "1", "a" * 64)
    return generate.GenerationJob(job_id="job_1", model=model, prompt="a boat", **({"seed": 1} | values))


EDGES = [("steps", params.STEPS[1]), ("steps", params.STEPS[0]), ("seed", params.SEED_MAX), ("seed", 0),
         ("guidance", params.GUIDANCE[1]), ("width", params.SIZE[1]), ("height", params.SIZE[0])]
BEYOND = [("steps", params.STEPS[1] + 1), ("steps", 0), ("seed", params.SEED_MAX + 1), ("seed", -1),
          ("guidance", params.GUIDANCE[1] + 0.5), ("width", params.SIZE[1] + 8), ("height", 100)]


@pytest.mark.parametrize("name, value", EDGES)
def test_what_the_api_accepts_the_lifecycle_records_and_the_generator_runs(name, value):
    loaded = ParamsIn().load({name: value})
    recorded = GenerationParams.from_dict(loaded)
    job(**{k: v for k, v in recorded.to_dict().items() if k != "scheduler"})


@pytest.mark.parametrize("name, value", BEYOND)
def test_what_the_api_refuses_the_lifecycle_and_the_generator_refuse_too(name, value):
    from marshmallow import ValidationError
    with pytest.raises(ValidationError) as api:
        ParamsIn().load({name: value})
    assert name in api.value.messages
    with pytest.raises(InvalidInput):
        GenerationParams(**{name: value})
    with pytest.raises(InvalidInput):
        job(**{name: value})


def test_the_generator_offers_exactly_the_schedulers_the_api_names():
    assert set(generate.SCHEDULERS) | {params.DEFAULT_SCHEDULER} == set(params.SCHEDULERS)


def test_statuses_come_from_one_enumeration():
    from governance.provenance.impact import PENDING_JOB_STATUSES
    assert set(PENDING_JOB_STATUSES) < set(JobStatus)
    assert set(ListRequestsQuery().fields["status"].validate.choices) == set(RequestStatus)
    assert {s.value for s in JobStatus} <= {s.value for s in RequestStatus} | {"blocked"}


@pytest.mark.parametrize("code, accepted", [("GB", True), ("WW", True), ("gb", True), ("UK", False), ("ZZ", False),
                                             ("XK", False), ("G", False)])
def test_territories_are_iso_3166_codes_in_force_or_worldwide(code, accepted):
    from marshmallow import ValidationError
    body = {"production": "p", "use": "previs", "territory": code, "model": "m:1", "prompt": "a boat"}
    if accepted:
        assert RequestIn().load(body)["territory"] == code.upper()
    else:
        with pytest.raises(ValidationError) as refused:
            RequestIn().load(body)
        assert "territory" in refused.value.messages
