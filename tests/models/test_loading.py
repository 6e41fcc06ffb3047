"""Safe loading: every bad model folder fails with a ModelLoadError naming the file."""

import json
import shutil

import pytest
import torch

from slm_assets.core.models.loading import ModelLoadError, load_model, validate_model_dir


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    dest = tmp_path / "model"
    shutil.copytree(tiny_model_dir, dest)
    return dest


def test_tiny_model_loads_for_left_padded_generation(tiny_model_dir):
    loaded = load_model(tiny_model_dir, device="cpu")
    assert loaded.device == "cpu" and loaded.dtype == torch.float32
    assert loaded.tokenizer.padding_side == "left"
    assert loaded.tokenizer.pad_token is not None
    assert not loaded.model.training
    assert loaded.load_seconds > 0
    batch = loaded.tokenizer(["refund", "my order status please"], return_tensors="pt", padding=True)
    assert batch["attention_mask"][0, 0] == 0  # left padding
    out = loaded.model.generate(**batch, max_new_tokens=3, do_sample=False)
    assert out.shape == (2, batch["input_ids"].shape[1] + 3)


def test_missing_pad_token_falls_back_to_eos(model_copy):
    cfg_file = model_copy / "tokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg.pop("pad_token", None)
    cfg_file.write_text(json.dumps(cfg))
    loaded = load_model(model_copy, device="cpu")
    assert loaded.tokenizer.pad_token == loaded.tokenizer.eos_token


def test_missing_config(model_copy):
    (model_copy / "config.json").unlink()
    with pytest.raises(ModelLoadError, match=r"config\.json: missing"):
        validate_model_dir(model_copy)


def test_truncated_safetensors(model_copy):
    weights = model_copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: truncated"):
        load_model(model_copy, device="cpu")


def test_safetensors_without_header(model_copy):
    (model_copy / "model.safetensors").write_bytes(b"\x01\x02")
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: truncated"):
        validate_model_dir(model_copy)


def test_pickle_only_weights_refused_unless_allowed(model_copy):
    from safetensors.torch import load_file

    weights = model_copy / "model.safetensors"
    torch.save(load_file(weights), model_copy / "pytorch_model.bin")
    weights.unlink()
    with pytest.raises(ModelLoadError, match=r"pytorch_model\.bin: pickle weights refused"):
        validate_model_dir(model_copy)
    assert validate_model_dir(model_copy, allow_pickle=True) == [model_copy / "pytorch_model.bin"]


@pytest.mark.parametrize("file", ["config.json", "tokenizer_config.json"])
def test_remote_code_refused(model_copy, file):
    path = model_copy / file
    cfg = json.loads(path.read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel"}
    path.write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=rf"{file}: asks for remote code"):
        load_model(model_copy, device="cpu")


def test_missing_tokenizer(model_copy):
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json: missing tokenizer"):
        validate_model_dir(model_copy)


def test_missing_weights(model_copy):
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=r"no weights"):
        validate_model_dir(model_copy)


def test_missing_shard(model_copy):
    (model_copy / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}})
    )
    with pytest.raises(ModelLoadError, match=r"index\.json: lists shard\(s\) not in the folder"):
        validate_model_dir(model_copy)


def test_empty_folder_and_not_a_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"empty: empty folder"):
        validate_model_dir(tmp_path / "empty")
    with pytest.raises(ModelLoadError, match=r"nowhere: not a folder"):
        load_model(tmp_path / "nowhere")
