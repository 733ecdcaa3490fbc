"""Generator fixtures: a micro model trained for a few steps, saved, and loaded through
the production loader, so tests exercise the same code a worker runs, in seconds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

torch = pytest.importorskip("torch")

from governance.errors import ModelIdentityError  # noqa: E402

from generator.architecture import MICRO, build_pipeline  # noqa: E402
from generator.dataset import studio_dataset  # noqa: E402
from generator.errors import SigningUnavailable  # noqa: E402
from generator.generate import GenerationJob, ModelRef  # noqa: E402
from generator.loader import LoadedModel, LoadOptions, load_model  # noqa: E402
from generator.training import TrainingConfig, save_model, train  # noqa: E402

#: One thread everywhere: the machine is shared, and pixels depend on the thread count.
THREADS = 1
MICRO_CONFIG = TrainingConfig(steps=12, autoencoder_steps=4, batch_size=4, threads=THREADS)


@pytest.fixture(scope="session")
def micro_images():
    return studio_dataset(8, size=MICRO.image_size, seed=0)


@pytest.fixture(scope="session")
def micro_model_dir(tmp_path_factory: pytest.TempPathFactory, micro_images) -> Path:
    """A micro model, briefly trained and saved as a diffusers directory (read-only use)."""
    pipeline = build_pipeline(MICRO, seed=0)
    train(pipeline, micro_images, MICRO_CONFIG, progress=False)
    return save_model(pipeline, tmp_path_factory.mktemp("models") / "micro")


@pytest.fixture
def model_copy(tmp_path: Path, micro_model_dir: Path) -> Path:
    """A private copy of the micro model, for tests that damage or change it."""
    import shutil
    return Path(shutil.copytree(micro_model_dir, tmp_path / "micro"))


@pytest.fixture(scope="session")
def loaded(micro_model_dir: Path) -> LoadedModel:
    return load_model(micro_model_dir, LoadOptions(device="cpu", threads=THREADS))


@pytest.fixture
def registered(loaded: LoadedModel) -> ModelRef:
    return ModelRef(name="micro", version="1", weights_hash=loaded.weights_hash)


@pytest.fixture
def job(registered: ModelRef) -> GenerationJob:
    return GenerationJob(job_id="job-1", model=registered,
                         prompt="a large teal circle centre on ivory background, slate studio style",
                         seed=42, steps=4, guidance=5.0, width=64, height=64)


@dataclass
class FakeSigner:
    """The signing API's contract in memory: idempotent per job id, refuses a mismatch."""

    expected_identity: str
    failures_before_success: int = 0
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    signed: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def sign(self, image_png: bytes, job_id: str, model_identity: str) -> Mapping[str, Any]:
        self.calls.append((job_id, model_identity, len(image_png)))
        if self.failures_before_success > 0:
            self.failures_before_success -= 1
            raise SigningUnavailable("signing API timed out")
        if model_identity != self.expected_identity:
            raise ModelIdentityError("the model identity does not match the approved model")
        if job_id not in self.signed:
            self.signed[job_id] = {"job_id": job_id, "output_id": f"out-{len(self.signed) + 1}",
                                   "bytes": len(image_png)}
        return self.signed[job_id]


@pytest.fixture
def signer(loaded: LoadedModel) -> FakeSigner:
    return FakeSigner(expected_identity=loaded.weights_hash)


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
