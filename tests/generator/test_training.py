import pytest

from generator.architecture import MICRO, build_pipeline
from generator.identity import model_identity
from generator.training import TrainingConfig, save_model, train

from .conftest import THREADS


def test_training_makes_the_fixed_evaluation_loss_fall(micro_images):
    pipeline = build_pipeline(MICRO, seed=0)
    config = TrainingConfig(steps=150, autoencoder_steps=10, batch_size=8, learning_rate=3e-3,
                            threads=THREADS)
    report = train(pipeline, micro_images, config, progress=False)
    assert len(report.losses) == 150 and len(report.autoencoder_losses) == 10
    assert report.eval_loss_after < 0.5 * report.eval_loss_before, report.summary()
    assert sum(report.losses[-20:]) < sum(report.losses[:20])


def test_fixed_steps_give_byte_identical_weights(tmp_path, micro_images):
    config = TrainingConfig(steps=3, autoencoder_steps=2, batch_size=4, threads=THREADS)
    identities = []
    for run in ("a", "b"):
        pipeline = build_pipeline(MICRO, seed=0)
        train(pipeline, micro_images, config, progress=False)
        identities.append(model_identity(save_model(pipeline, tmp_path / run)))
    assert identities[0].digest == identities[1].digest


def test_a_different_seed_gives_different_weights(tmp_path, micro_images):
    digests = set()
    for seed in (0, 1):
        pipeline = build_pipeline(MICRO, seed=seed)
        train(pipeline, micro_images, TrainingConfig(steps=2, autoencoder_steps=0, seed=seed,
                                                     threads=THREADS), progress=False)
        digests.add(model_identity(save_model(pipeline, tmp_path / str(seed))).digest)
    assert len(digests) == 2


def test_training_on_nothing_is_refused():
    with pytest.raises(ValueError):
        train(build_pipeline(MICRO), [], TrainingConfig(threads=THREADS), progress=False)
