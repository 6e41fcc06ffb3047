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


@pytest.mark.parametrize(
    ("section", "value", "key"),
    [
        ("profiling", {"batch_sizes": [0, -4]}, r"profiling\.batch_sizes\.0"),
        ("profiling", {"batch_sizes": []}, r"profiling\.batch_sizes"),
        ("golden", {"fractions": {"train": 1.5, "validation": 0.0, "test": -0.5}}, r"golden\.fractions\.train"),
        ("golden", {"fractions": {"train": float("nan"), "validation": 0.1, "test": 0.2}}, r"golden\.fractions\.train"),
        ("golden", {"max_rows": {"train": -5, "validation": 10, "test": 10}}, r"golden\.max_rows\.train"),
        ("golden", {"seed": -1}, r"golden\.seed"),
        ("slo", {"p95_latency_ms": float("inf")}, r"slo\.p95_latency_ms"),
        ("alerts", {"drift": {"length_mean_ratio_bounds": [1.4, 0.7]}}, r"alerts\.drift\.length_mean_ratio_bounds"),
    ],
)
def test_numeric_options_are_validated(make_settings, section, value, key):
    with pytest.raises(ConfigError, match=key) as err:
        make_settings(**{section: value})
    assert "config.yaml" in str(err.value)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    # 9 levels of 9 aliases each: 1.3 KB of YAML standing for 9**9 (387 million) strings.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines.append("golden: {version: v1, extra: *a8}")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < 1500
    with pytest.raises(ConfigError, match=r"bomb\.yaml: line \d+: YAML aliases expand to more than"):
        load_settings(path)


def test_recursive_yaml_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("golden: &g\n  version: v1\n  loop: *g\n")
    with pytest.raises(ConfigError, match=r"loop\.yaml: line \d+: a YAML alias refers to itself"):
        load_settings(path)


def test_modest_yaml_aliases_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "golden: &g {version: v7}\nprofiling:\n  batch_sizes: &sizes [1, 2]\n"
        "evaluation: {robustness: {families: [casing]}}\n"
    )
    settings = load_settings(path)
    assert settings.profiling.batch_sizes == [1, 2] and settings.golden.version == "v7"
