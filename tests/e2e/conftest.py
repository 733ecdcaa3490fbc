"""A studio home with a real (micro) model registered as the bundled one, so ``slate serve``
starts in seconds instead of training for minutes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("torch")

from generator import bundled
from generator.architecture import MICRO
from generator.training import TrainingConfig
from governance.db import close_database, open_database
from governance.migrations import migrate
from governance.settings import Settings

MICRO_CONFIG = TrainingConfig(steps=12, autoencoder_steps=4, batch_size=4, threads=1)


@pytest.fixture(scope="session")
def micro_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained micro model directory, built once per session."""
    from generator.dataset import studio_dataset
    folder = tmp_path_factory.mktemp("micro-bundle")
    images = studio_dataset(8, size=MICRO.image_size, seed=0)
    _BUILT[folder] = bundled.train_studio_model(folder / "slate-studio", images, MICRO_CONFIG, MICRO, progress=False)
    return folder


#: the build of each micro bundle (its report and the bytes it trained on), for its attestation
_BUILT: dict[Path, bundled.BuiltModel] = {}


def prepare_home(home: Path, micro_bundle: Path, database_url: str | None = None) -> Settings:
    """Register the micro model as slate-studio:1 with its real training set, as the bundled build does."""
    import shutil

    from generator.dataset import studio_dataset
    overrides = {"database_url": database_url} if database_url else {}
    settings = Settings.for_folder(home, **overrides)
    shutil.copytree(micro_bundle / "slate-studio", settings.models_dir / "slate-studio")
    open_database(settings.database_url)
    migrate()
    from governance.registry.fingerprints import use_folder
    use_folder(settings.index_dir)  # as `slate serve` does: training images go into the similarity index
    from governance.registry.attestations import use_keys_folder
    use_keys_folder(settings.keys_dir)  # as `slate serve` does: attestations are judged against its keys
    try:
        images = studio_dataset(8, size=MICRO.image_size, seed=0)
        training_set = bundled.register_training_data(images)
        # registered as `slate model build-bundled` registers it: attested, countersigned, and
        # signed in the OpenSSF form (model.sig) with this home's keys
        from dataclasses import replace
        directory = settings.models_dir / "slate-studio"
        built = replace(_BUILT[micro_bundle], directory=directory, identity=bundled.model_identity(directory))
        model = bundled.register_bundled_model(built, training_set, settings=settings)
        assert model["attested"], model
        if model["status"] == "registered":
            from governance.registry.models_registry import set_status
            set_status(model["ref"], "approved", "e2e: approved")
    finally:
        close_database()
    return settings
