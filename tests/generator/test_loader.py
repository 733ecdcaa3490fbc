import json
import shutil

import pytest
import torch

from generator.errors import ModelLoadError
from generator.generate import generate
from generator.loader import LoadOptions, LoraAdapter, load_model
from generator.training import TrainingConfig, save_lora, train_lora
from governance.errors import InvalidInput, SlateError

from .conftest import THREADS

CPU = LoadOptions(device="cpu", threads=THREADS)


def test_saved_model_loads_offline_with_its_identity(micro_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_model(micro_model_dir, CPU)
    assert type(loaded.pipeline).__name__ == "StableDiffusionPipeline"
    assert loaded.device.type == "cpu" and loaded.dtype == torch.float32
    assert len(loaded.weights_hash) == 64
    assert loaded.pixel_multiple == 2


def test_a_folder_that_is_not_a_model_is_refused_clearly(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "absent", CPU)
    with pytest.raises(ModelLoadError, match=r"model_index\.json is missing"):
        load_model(tmp_path, CPU)
    (tmp_path / "model_index.json").write_text('{"_class_name": "NoSuchPipeline"}')
    with pytest.raises(ModelLoadError, match="no known diffusers"):
        load_model(tmp_path, CPU)


def test_a_missing_component_is_named(model_copy):
    shutil.rmtree(model_copy / "unet")
    with pytest.raises(ModelLoadError, match="lacks the 'unet' folder"):
        load_model(model_copy, CPU)


def test_missing_weights_are_named(model_copy):
    (model_copy / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=r"'vae' .* has no weight files"):
        load_model(model_copy, CPU)


def test_pickled_weights_are_refused_unless_allowed(model_copy):
    weights = model_copy / "vae" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(ModelLoadError, match="only pickled weights") as caught:
        load_model(model_copy, CPU)
    assert "allow_pickle" in caught.value.hint


def test_damaged_config_and_weights_are_reported_not_crashed(model_copy):
    (model_copy / "unet" / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"unet/config\.json cannot be read as JSON"):
        load_model(model_copy, CPU)


def test_truncated_weights_raise_a_slate_error(model_copy):
    weights = model_copy / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        load_model(model_copy, CPU)


def test_wrongly_shaped_weights_raise_a_slate_error(model_copy):
    config = model_copy / "unet" / "config.json"
    data = json.loads(config.read_text())
    data["block_out_channels"] = [16, 32]
    config.write_text(json.dumps(data))
    with pytest.raises(SlateError):
        load_model(model_copy, CPU)


def test_a_weight_file_replaced_while_loading_is_refused(model_copy, monkeypatch):
    import generator.loader as loader
    real = loader._from_pretrained

    def swap_then_load(*args, **kwargs):
        # after hashing, before diffusers reads: same size, one weight byte different
        weights = model_copy / "unet" / "diffusion_pytorch_model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-1] ^= 0x01
        weights.write_bytes(bytes(data))
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "_from_pretrained", swap_then_load)
    with pytest.raises(ModelLoadError, match="changed while they were being loaded"):
        load_model(model_copy, CPU)


@pytest.mark.parametrize("options, message", [
    (LoadOptions(device="cpu", dtype="float16"), "float16 is not supported on CPU"),
    (LoadOptions(device="cpu", dtype="float8"), "unknown dtype"),
    (LoadOptions(device="cpu", attention="flash9"), "unknown attention"),
    (LoadOptions(device="cpu", cpu_offload=True), "CPU offload"),
    (LoadOptions(device="cpu", batch_size=0), "batch size"),
])
def test_impossible_options_are_invalid_input(micro_model_dir, options, message):
    with pytest.raises(InvalidInput, match=message):
        load_model(micro_model_dir, options)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_invalid_input(micro_model_dir):
    with pytest.raises(InvalidInput, match="no CUDA GPU"):
        load_model(micro_model_dir, LoadOptions(device="cuda"))


def test_a_lora_adapter_loads_and_is_part_of_the_identity(tmp_path, micro_model_dir, micro_images,
                                                          loaded, job):
    base = load_model(micro_model_dir, CPU)
    train_lora(base.pipeline, micro_images,
               TrainingConfig(steps=5, autoencoder_steps=0, learning_rate=5e-2, threads=THREADS),
               rank=2, progress=False)
    adapter = save_lora(base.pipeline, tmp_path / "lora")
    with_lora = load_model(micro_model_dir, LoadOptions(device="cpu", threads=THREADS,
                                                        lora=(LoraAdapter(adapter, 0.8),)))
    assert with_lora.weights_hash != loaded.weights_hash
    assert any(f.path.startswith("adapter0/") for f in with_lora.identity.files)
    assert generate(with_lora, job).png != generate(loaded, job).png
