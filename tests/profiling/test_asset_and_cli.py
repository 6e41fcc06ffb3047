"""hardware_profile materialized through Dagster with a partition, and ``slm-bench profile``."""

import json

import dagster as dg
import pandas as pd
import pytest

from slm_assets.cli import main
from slm_assets.core.golden.store import write_golden
from slm_assets.core.models.registry import FolderRegistry
from slm_assets.core.models.versions import ModelCard
from slm_assets.core.schema import SPLITS
from tests.support.log_rows import log_frame
from slm_assets.defs.profiling.assets import hardware_profile
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.core import layout

KEY = "tiny@v1"
LABELS = ["billing_refund", "login_problem"]


def _split(texts: list[str], split: str) -> pd.DataFrame:
    return log_frame([{"example_id": f"{split}-{i}", "input": text, "reference": LABELS[i % 2]} for i, text in enumerate(texts)])


@pytest.fixture
def project(make_settings, tiny_model_dir):
    settings = make_settings(
        task={"labels": LABELS, "max_new_tokens": 4},
        golden={"strategy": "stratified"},
        evaluation={"device": "cpu"},
        # The energy window is long enough for CPU-time ticks to register on a busy machine (the estimate reads them).
        profiling={"warmup_runs": 1, "latency_prompts": 3, "latency_min_seconds": 0.0, "latency_new_tokens": 3,
                   "batch_sizes": [1, 2], "throughput_new_tokens": 2, "repeats": 2, "max_relative_dispersion": 1e9,
                   "energy_window_seconds": 0.3, "idle_seconds": 0.0, "bandwidth_test_mb": 8},
    )
    FolderRegistry(settings.registry_dir).register(tiny_model_dir, "tiny", "v1", ModelCard(task="support-intent-routing"))
    texts = {s: [f"{s} request {i} about my refund and login" for i in range(4)] for s in SPLITS}
    write_golden(settings, {s: _split(t, s) for s, t in texts.items()}, source_fingerprint="test")
    metrics = layout.evaluations_root(settings) / KEY / settings.golden.version / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"hallucination_rate": 0.0}))
    return settings


def test_hardware_profile_materializes_a_partition(project):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("model_versions", [KEY])
    result = dg.materialize([hardware_profile], partition_key=KEY, instance=instance,
                            resources={"slm": SlmSettings(config_path=str(project.config_path)), "engines": ModelEngines()})
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    for key in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_ms", "tpot_ms", "tokens_per_second_bs1",
                "tokens_per_second_bs2", "peak_rss_mb", "energy_j_per_inference", "load_seconds", "size_mb",
                "parameters", "roofline_share"):
        assert isinstance(meta[key], int | float) and meta[key] > 0, key
    assert meta["energy_method"] == "estimated" and meta["noisy"] is False
    assert meta["slo_vram"] == "not_applicable" and meta["slo_hallucination_rate"] == "pass"
    assert "| p95_latency |" in meta["scorecard"]
    path = layout.profiles_root(project) / KEY / "profile.json"
    assert meta["path"] == str(path)
    stored = json.loads(path.read_text())
    assert stored["summary"]["latency_p95_ms"] == pytest.approx(meta["latency_p95_ms"])
    assert stored["prompts_source"] == "golden_test v1" and stored["model_version"]["key"] == KEY
    assert stored["latency"]["distinct_prompts"] == 3
    # Memory of the engine alone: a fresh process that loaded only this version.
    memory = stored["memory"]
    assert memory["method"] == "fresh_process" and set(memory["phases"]) == {"load", "latency", "throughput_bs1",
                                                                             "throughput_bs2"}
    assert 0 < memory["runtime_rss_mb"] < memory["peak_rss_mb"] == stored["summary"]["peak_memory_mb"]
    assert memory["engine_rss_mb"] == pytest.approx(memory["peak_rss_mb"] - memory["runtime_rss_mb"])
    assert (meta["engine"], meta["format"], meta["precision"]) == ("transformers", "safetensors", "float32")


def test_cli_profiles_then_shows(project, capsys, tmp_path):
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("refund my order\n\nI cannot log in\n")
    assert main(["--config", str(project.config_path), "profile", KEY, "--device", "cpu", "--inputs", str(inputs)]) == 0
    out = capsys.readouterr().out
    assert "latency_p95_ms" in out and "| energy_per_inference |" in out and "profile.json" in out
    assert main(["--config", str(project.config_path), "profile", KEY, "--show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["prompts_source"] == "inputs" and shown["latency"]["distinct_prompts"] == 2


def test_cli_unknown_version_is_a_clear_error(project, capsys):
    assert main(["--config", str(project.config_path), "profile", "tiny@nope"]) == 2
    assert "tiny@nope" in capsys.readouterr().err
