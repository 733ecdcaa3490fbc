import json
from pathlib import Path

import pytest

from generator.identity import model_identity
from governance.errors import ModelIdentityError


def _rewrite_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=4))


def test_identity_is_the_same_for_a_copy_anywhere(micro_model_dir, model_copy):
    assert model_identity(micro_model_dir).digest == model_identity(model_copy).digest


def test_identity_covers_weights_configs_and_tokenizer(micro_model_dir):
    kinds = {f.path: f.kind for f in model_identity(micro_model_dir).files}
    assert kinds["unet/diffusion_pytorch_model.safetensors"] == "weights"
    assert kinds["unet/config.json"] == "config"
    assert kinds["model_index.json"] == "config"
    assert kinds["tokenizer/tokenizer.json"] == "config"


def test_library_version_fields_and_json_layout_do_not_change_identity(micro_model_dir, model_copy):
    def upgrade(data):
        data["_diffusers_version"] = "9.9.9"
        data["_name_or_path"] = "/somewhere/else"
    _rewrite_json(model_copy / "unet" / "config.json", upgrade)
    _rewrite_json(model_copy / "text_encoder" / "config.json",
                  lambda d: d.update(transformers_version="99.0"))
    assert model_identity(model_copy).digest == model_identity(micro_model_dir).digest


def test_files_that_are_not_the_model_do_not_change_identity(micro_model_dir, model_copy):
    (model_copy / "README.md").write_text("# our fine-tune\n")
    (model_copy / ".cache").mkdir()
    (model_copy / ".cache" / "x.json").write_text("{}")
    assert model_identity(model_copy).digest == model_identity(micro_model_dir).digest


def test_one_changed_weight_byte_changes_identity(micro_model_dir, model_copy):
    weights = model_copy / "vae" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    assert model_identity(model_copy).digest != model_identity(micro_model_dir).digest


def test_a_changed_config_value_changes_identity(micro_model_dir, model_copy):
    _rewrite_json(model_copy / "scheduler" / "scheduler_config.json",
                  lambda d: d.update(beta_end=0.02))
    assert model_identity(model_copy).digest != model_identity(micro_model_dir).digest


def test_a_folder_without_weights_has_no_identity(tmp_path):
    (tmp_path / "model_index.json").write_text("{}")
    with pytest.raises(ModelIdentityError, match="no weight files"):
        model_identity(tmp_path)
    with pytest.raises(ModelIdentityError, match="does not exist"):
        model_identity(tmp_path / "absent")
