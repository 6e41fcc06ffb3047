"""`slm-bench demo` end to end on a tiny model and tiny data, on a persistent Dagster instance; then the
sensor's first daemon tick (what `make ui` does next) launches nothing: the demo's runs carry its run keys."""

import importlib.util
import shutil
from pathlib import Path

import dagster as dg
import yaml

from slm_assets.cli import main
from slm_assets.config import DEFAULT_CONFIG, PROJECT_ROOT
from slm_assets.core.models import base_model
from slm_assets.core import layout
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelRef
from slm_assets.defs.partitions import model_versions
from tests.demo.sensor_tick import daemon_sensor_tick

# The default config (same columns, labels, strategy), shrunk so the whole loop takes seconds.
TINY = {
    "golden": {"max_rows": {"train": 120, "validation": 24, "test": 24}, "min_per_stratum": 1},
    "task": {"max_new_tokens": 4},
    "evaluation": {"batch_size": 8, "max_examples": 16, "device": "cpu", "robustness": {"subset_size": 4}},
    "profiling": {
        "warmup_runs": 1, "latency_prompts": 4, "latency_min_seconds": 0.0, "latency_new_tokens": 3,
        "batch_sizes": [1, 2], "throughput_new_tokens": 3, "repeats": 2, "energy_window_seconds": 0.05,
        "idle_seconds": 0.05, "bandwidth_test_mb": 8,
    },
    "comparison": {"bootstrap_samples": 200, "side_by_side_rounds": 1},
    "finetune": {"steps": 2, "batch_size": 4, "eval_every": 1, "validation_examples": 8, "max_length": 96},
}


def _tiny_config(tmp_path: Path) -> Path:
    body = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    body["data_dir"] = str(tmp_path / "data")
    for section, values in TINY.items():
        body[section] = {**body.get(section, {}), **values}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def _materialized(instance: dg.DagsterInstance, key: str, partition: str | None = None) -> bool:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[partition] if partition else None),
        limit=1,
    ).records
    return bool(records)


def test_demo_runs_the_whole_loop_then_reuses_it(tmp_path, tiny_model_dir, tiny_gguf, monkeypatch, capsys):
    config = _tiny_config(tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("SLM_CONFIG", str(config))  # restored after the test (the demo sets it too)
    # The real import converts SmolLM2's GGUF; here the tiny model stands in for the conversion,
    # and a tiny GGUF for the one registered as it ships (@base-q4_1, on llama.cpp).
    monkeypatch.setattr(base_model, "find_gguf", lambda: tiny_gguf)
    monkeypatch.setattr(base_model, "convert_gguf", lambda gguf, out, progress: shutil.copytree(tiny_model_dir, out))

    assert main(["--config", str(config), "demo", "--rows", "1500"]) in (0, 1)
    out = capsys.readouterr().out
    base, candidate = "smollm2-135m-instruct@base", "smollm2-135m-instruct@ft-v1-2"
    assert f"=== Demo summary: {candidate} vs {base} ===" in out
    for label in ("accuracy", "macro-F1", "hallucination rate", "robustness worst family", "P95 latency (ms)",
                  "tokens/s (best batch)", "energy/inference (J)", "Verdict:", "make ui"):
        assert label in out, label
    settings_data = tmp_path / "data"
    report = settings_data / "reports" / candidate / "report.html"
    assert f"Report:      {report}" in out and report.is_file()
    assert (settings_data / "reports" / "leaderboard.html").is_file()
    assert "wrote 1,500 synthetic log lines" in out

    from slm_assets.config import load_settings

    settings = load_settings(config)
    registry = get_registry(settings)
    assert registry.resolve("smollm2-135m-instruct", "production").key == base
    card = registry.get(ModelRef.parse(candidate)).card
    assert card.base_model == base and card.training_data.golden_version == "v1"
    comparison = yaml.safe_load(layout.comparison_file(settings, candidate).read_text())
    assert comparison["baseline"] == base and comparison["verdict"] in ("pass", "regression")
    assert f"Verdict: {comparison['verdict'].upper()}" in out

    instance = dg.DagsterInstance.get()
    shipped = "smollm2-135m-instruct@base-q4_1"
    with_gguf = importlib.util.find_spec("llama_cpp") is not None
    assert set(instance.get_dynamic_partitions(model_versions.name)) == {base, candidate} | ({shipped} if with_gguf else set())
    if with_gguf:
        assert shipped in (settings_data / "reports" / "leaderboard.html").read_text()
        for key in ("model_evaluation", "hardware_profile"):
            assert _materialized(instance, key, shipped), key
    for key in ("production_logs", "quarantined_logs", "golden_train", "golden_validation", "golden_test",
                "production_drift"):
        assert _materialized(instance, key), key
    for version in (base, candidate):
        for key in ("model_evaluation", "hardware_profile", "baseline_comparison", "evaluation_report"):
            assert _materialized(instance, key, version), (key, version)
    check_keys = [dg.AssetCheckKey(dg.AssetKey("golden_test"), name)
                  for name in ("golden_set_unchanged", "expectations_pass")]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    assert set(latest) == set(check_keys), "golden checks recorded on the instance"

    launched = daemon_sensor_tick(instance)
    assert [run.tags.get("dagster/run_key") for run in launched] == [], "the sensor launched the demo's runs again"

    # Second run: logs, golden set, models, evaluations and profiles are all reused.
    assert main(["--config", str(config), "demo"]) in (0, 1)
    again = capsys.readouterr().out
    assert "reusing the logs" in again
    assert f"{base} already registered" in again and f"{candidate} already registered: fine-tune skipped" in again
    assert "model_evaluation" not in again.split("evaluate_model_version [")[1].split("\n")[0]
    # The comparison itself runs again (side-by-side speed is measured anew, so its ratios may differ).
    assert "Verdict: " in again and "fine-tune skipped" in again
