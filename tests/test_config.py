import pytest

from slm_assets.config import ConfigError, load_settings
from slm_assets.core import layout


def test_default_config_loads():
    settings = load_settings()
    assert settings.golden.version == "v1"
    assert settings.task_labels() and len(settings.task_labels()) == 10
    assert layout.golden_dir(settings) == settings.data_dir / "golden" / "v1"


def test_unknown_key_is_named(make_settings):
    with pytest.raises(ConfigError, match=r"golden\.strategi"):
        make_settings(golden={"strategi": "temporal"})


def test_bad_value_is_named(make_settings):
    with pytest.raises(ConfigError, match=r"golden\.strategy"):
        make_settings(golden={"strategy": "random"})


def test_fractions_must_sum_to_one(make_settings):
    with pytest.raises(ConfigError, match="sum to 1"):
        make_settings(golden={"fractions": {"train": 0.5, "test": 0.2}})


def test_version_cannot_escape_the_folder(make_settings):
    with pytest.raises(ConfigError, match=r"golden\.version"):
        make_settings(golden={"version": "../v1"})


def test_env_overrides_data_dir(make_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_DATA_DIR", str(tmp_path / "elsewhere"))
    assert make_settings().data_dir == tmp_path / "elsewhere"


def test_env_expansion_with_default(make_settings, monkeypatch):
    monkeypatch.setenv("MY_LOGS", "/srv/logs")
    settings = make_settings(logs={"sources": [{"path": "${MY_LOGS}/a.jsonl"}, {"path": "${NOPE:-/x}/b.csv"}]})
    assert [s.path for s in settings.logs.sources] == ["/srv/logs/a.jsonl", "/x/b.csv"]


def test_missing_env_without_default_is_an_error(make_settings):
    with pytest.raises(ConfigError, match="UNSET_VAR_FOR_TEST"):
        make_settings(logs={"sources": [{"path": "${UNSET_VAR_FOR_TEST}/a.jsonl"}]})


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")
