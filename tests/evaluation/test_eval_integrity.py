"""Evaluation runs only on what was frozen and registered (issue 17): a tampered golden version
(any split, or the folder) or a model changed after registration stops it, and a changed model's
cached answers are never served."""

import pytest

from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.golden.store import GoldenSetError
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import RegistryError
from tests.evaluation.helpers import eval_sections, register, write_test_golden


@pytest.fixture
def setup(make_settings, lively_model_dir):
    settings = make_settings(**eval_sections(robustness={"enabled": False}))
    manifest = write_test_golden(settings, test_rows=6)
    return settings, manifest, register(settings, lively_model_dir)


def test_tampered_train_split_stops_evaluation(setup):
    settings, manifest, version = setup
    train = manifest.path("train")
    train.write_bytes(train.read_bytes() + b"\0")  # evaluation reads only test.parquet
    with pytest.raises(GoldenSetError, match=r"golden set v1 failed verification: .*train\.parquet"):
        evaluate_model(settings, version, show_progress=False)


def test_foreign_file_or_edited_manifest_stops_evaluation(setup):
    settings, manifest, version = setup
    (manifest.directory / "extra.parquet").write_bytes(b"x")
    with pytest.raises(GoldenSetError, match=r"extra\.parquet: unexpected file"):
        evaluate_model(settings, version, show_progress=False)
    (manifest.directory / "extra.parquet").unlink()
    text = (manifest.directory / "manifest.json").read_text()
    (manifest.directory / "manifest.json").write_text(text.replace('"seed": 13', '"seed": 14', 1))
    with pytest.raises(GoldenSetError, match="config_hash does not match its own config"):
        evaluate_model(settings, version, show_progress=False)


def test_changed_model_is_refused_and_its_cache_never_served(setup):
    settings, _, version = setup
    assert evaluate_model(settings, version, show_progress=False).metrics["generated_examples"] == 6
    weights = version.path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-4:] = b"\x00\x00\x80\x7f"  # one weight becomes +inf: same size, different model
    weights.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match=r"content changed since registration .*model\.safetensors"):
        get_registry(settings).get(version.key)
    with pytest.raises(RegistryError, match="model.safetensors"):
        evaluate_model(settings, version, show_progress=False)  # the old ModelVersion: no cached answers
