"""The bundled model's chain, at micro size: registered data -> trained model -> registered
identity that the loader reproduces."""

from generator.architecture import MICRO
from generator.bundled import MODEL_NAME, TRAINING_SET, build_bundled_model, bundled_attestation
from generator.identity import model_identity
from generator.loader import LoadOptions, load_model
from generator.training import TrainingConfig
from governance.credentials.model_signatures import PUBLIC_KEY_FILE, SIGNATURE_FILE
from governance.registry import models_registry, training_sets
from governance.registry.attestations import use_keys_folder

from .conftest import THREADS

TINY = TrainingConfig(steps=2, autoencoder_steps=1, batch_size=4, threads=THREADS)


def test_build_registers_assets_training_set_and_model_with_its_identity(db):
    built = build_bundled_model(db, config=TINY, count=6, arch=MICRO, progress=False)
    directory = db.models_dir / MODEL_NAME
    assert built.built.directory == directory and (directory / "model_index.json").is_file()
    model = models_registry.show_model(f"{MODEL_NAME}:1")
    assert model["weights_hash"] == model_identity(directory).digest
    assert model["training_set_root"] == training_sets.show_training_set(TRAINING_SET)["merkle_root"]
    assert training_sets.show_training_set(TRAINING_SET)["size"] == 6
    assert built.summary()["training_set_root"] == model["training_set_root"]


def test_rebuilding_with_the_same_settings_finds_its_own_registration(db):
    first = build_bundled_model(db, config=TINY, count=6, arch=MICRO, progress=False)
    second = build_bundled_model(db, config=TINY, count=6, arch=MICRO, progress=False)
    assert first.model["weights_hash"] == second.model["weights_hash"]
    assert len(models_registry.list_models()) == 1


def test_the_bundled_build_attests_the_root_of_the_bytes_it_trained_on_and_is_signed(db):
    built = build_bundled_model(db, config=TINY, count=6, arch=MICRO, progress=False)
    attestation = bundled_attestation(built.built, built.training_set)

    assert attestation["training_set"]["merkle_root"] == training_sets.show_training_set(TRAINING_SET)["merkle_root"]
    assert attestation["output"]["weights_hash"] == built.built.identity.digest
    assert (attestation["method"], attestation["base"]) == ("full", None)
    assert (built.built.directory / SIGNATURE_FILE).is_file()
    loaded = load_model(built.built.directory, LoadOptions(device="cpu", threads=THREADS,
                                                           signature_key=db.keys_dir / PUBLIC_KEY_FILE))
    use_keys_folder(db.keys_dir)  # as the CLI and the app do: attestations are judged against its anchors
    model = models_registry.show_model(f"{MODEL_NAME}:1")
    assert loaded.weights_hash == model["weights_hash"] and model["attested"] is True
