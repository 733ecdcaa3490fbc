"""Generator fixtures: a micro model trained for a few steps, saved, and loaded through
the production loader, so tests exercise the same code a worker runs, in seconds; and the
real Slate API served over HTTP (``live``) for the worker's client to talk to."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

torch = pytest.importorskip("torch")

from generator.architecture import MICRO, build_pipeline  # noqa: E402
from generator.dataset import studio_dataset  # noqa: E402
from generator.generate import GenerationJob, ModelRef  # noqa: E402
from generator.loader import LoadedModel, LoadOptions, load_model  # noqa: E402
from generator.training import TrainingConfig, save_model, train  # noqa: E402
from tests.api.conftest import app, client  # noqa: E402,F401  (fixtures)
from tests.api.test_flow import studio  # noqa: E402,F401  (fixture)

from .live import Live, serve  # noqa: E402

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


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def live(app, studio, micro_model_dir: Path, loaded: LoadedModel) -> Iterator[Live]:
    """The real API over HTTP, behind a tap, with the micro model registered and approved."""
    yield from serve(app, loaded, str(micro_model_dir))


@pytest.fixture
def cache():
    from generator.service import ModelCache
    return ModelCache(LoadOptions(device="cpu", threads=THREADS))


@pytest.fixture
def generations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The job ids the worker generated an image for, in order (the real generator runs)."""
    import generator.worker as worker
    made: list[str] = []
    real = worker.generate

    def counted(model: LoadedModel, job: Any) -> Any:
        made.append(job.job_id)
        return real(model, job)

    monkeypatch.setattr(worker, "generate", counted)
    return made
