import io
from dataclasses import replace

import pytest
from PIL import Image

from generator.generate import GenerationJob, generate, generate_batch
from generator.loader import LoadOptions, load_model
from governance.credentials.pixels import check_generated_png
from governance.errors import InvalidInput

from .conftest import THREADS


def test_the_same_job_gives_byte_identical_png(loaded, job):
    assert generate(loaded, job).png == generate(loaded, job).png


def test_the_same_job_after_a_fresh_load_gives_byte_identical_png(micro_model_dir, loaded, job):
    again = load_model(micro_model_dir, LoadOptions(device="cpu", threads=THREADS))
    first, second = generate(loaded, job), generate(again, job)
    assert first.png == second.png
    assert first.record.to_dict() == second.record.to_dict()


def test_another_seed_gives_another_image(loaded, job):
    assert generate(loaded, job).png != generate(loaded, replace(job, seed=job.seed + 1)).png


def test_output_is_laid_out_as_signing_accepts_for_its_job(loaded, job):
    wide = replace(job, width=96)
    checked = check_generated_png(generate(loaded, wide).png, wide.job_id, wide.width, wide.height)
    assert (checked.width, checked.height) == (96, job.height)


def test_output_is_a_png_of_the_requested_size(loaded, job):
    image = Image.open(io.BytesIO(generate(loaded, replace(job, width=96)).png))
    assert image.format == "PNG" and image.size == (96, 64)


def test_record_holds_what_reproduces_the_pixels_but_not_the_prompt(loaded, job):
    record = generate(loaded, job).record.to_dict()
    assert record["job"]["seed"] == 42 and record["job"]["steps"] == 4
    assert record["job"]["guidance"] == 5.0 and record["job"]["width"] == 64
    assert record["model_identity"] == loaded.weights_hash
    assert record["scheduler"]["class"] == "DDIMScheduler"
    environment = record["environment"]
    assert environment["torch_threads"] == THREADS and environment["batch_size"] == 1
    assert {"torch", "diffusers", "transformers"} <= set(environment["libraries"])
    assert job.prompt not in repr(record)
    assert len(record["job"]["prompt_sha256"]) == 64


def test_a_named_scheduler_is_used_and_recorded_without_changing_the_default(loaded, job):
    default = generate(loaded, job)
    euler = generate(loaded, replace(job, scheduler="euler"))
    assert euler.record.scheduler["class"] == "EulerDiscreteScheduler"
    assert euler.png != default.png
    assert generate(loaded, job).png == default.png


def test_a_batch_records_its_size_and_keeps_each_jobs_seed(loaded, job):
    batch = generate_batch(loaded, [job, replace(job, job_id="job-2", seed=7)])
    assert [b.record.environment["batch_size"] for b in batch] == [2, 2]
    assert batch[0].png != batch[1].png
    with pytest.raises(InvalidInput, match="share steps"):
        generate_batch(loaded, [job, replace(job, job_id="job-3", steps=5)])


@pytest.mark.parametrize("change, field", [
    ({"steps": 0}, "steps"), ({"steps": 151}, "steps"), ({"width": 4096}, "width"),
    ({"height": 60}, "height"), ({"height": 70}, "height"), ({"guidance": -1.0}, "guidance"),
    ({"seed": -5}, "seed"), ({"prompt": ""}, "prompt"), ({"job_id": "a b"}, "job_id"),
    ({"scheduler": "magic"}, "scheduler"), ({"steps": True}, "steps"),
])
def test_out_of_range_jobs_are_invalid_input_naming_the_field(job, change, field):
    with pytest.raises(InvalidInput) as caught:
        replace(job, **change)
    assert field in caught.value.fields


def test_a_job_from_the_queue_is_checked_too(registered):
    with pytest.raises(InvalidInput, match="unknown job fields: colour"):
        GenerationJob.from_dict({"job_id": "j", "model": vars(registered), "prompt": "x",
                                 "seed": 1, "colour": "red"})
    with pytest.raises(InvalidInput, match="missing seed"):
        GenerationJob.from_dict({"job_id": "j", "model": vars(registered), "prompt": "x"})
    with pytest.raises(InvalidInput, match="weights hash"):
        GenerationJob.from_dict({"job_id": "j", "model": {**vars(registered), "weights_hash": "x"},
                                 "prompt": "x", "seed": 1})


def test_a_prompt_longer_than_the_text_encoder_takes_never_reaches_a_log_line(loaded, job):
    import logging

    class Kept(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(record.getMessage())

    kept = Kept()
    library = logging.getLogger("diffusers")
    library.addHandler(kept)
    try:
        long_prompt = " ".join(f"confidential{i}" for i in range(150))
        generate(loaded, replace(job, prompt=long_prompt))
    finally:
        library.removeHandler(kept)
    assert not [line for line in kept.lines if "confidential" in line]
