"""The gate compares two versions whatever their engines: a transformers float32 model against the
same weights as a GGUF on llama.cpp; the report and the leaderboard say what ran."""

import json

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install builds it: extra llama-cpp)")

from slm_assets.cli import main  # noqa: E402
from slm_assets.core import layout  # noqa: E402
from slm_assets.core.models.registry import get_registry  # noqa: E402
from slm_assets.core.models.versions import ModelCard  # noqa: E402
from slm_assets.core.reporting.leaderboard import write_leaderboard  # noqa: E402
from tests.evaluation.helpers import LABELS, write_test_golden  # noqa: E402

SECTIONS = {
    "task": {"labels": LABELS, "max_new_tokens": 3, "stop": ["\n"]},
    "evaluation": {"batch_size": 4, "device": "cpu", "robustness": {"subset_size": 4, "families": ["casing"]}},
    "profiling": {"warmup_runs": 1, "latency_prompts": 2, "latency_min_seconds": 0.0, "latency_new_tokens": 2,
                  "batch_sizes": [1, 2], "throughput_new_tokens": 2, "repeats": 1, "energy_window_seconds": 0.05,
                  "idle_seconds": 0.05, "bandwidth_test_mb": 8, "memory_in_fresh_process": False},
    "comparison": {
        "bootstrap_samples": 100, "side_by_side_rounds": 1,
        "thresholds": {
            "accuracy": {"direction": "higher_is_better", "max_regression": 0.2},
            "latency_p95_ms": {"direction": "lower_is_better", "kind": "ratio", "max_regression": 50.0},
        },
    },
}


def test_gate_compares_float32_transformers_with_its_gguf_on_llama_cpp(make_settings, tiny_gguf, tmp_path,
                                                                       capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    settings = make_settings(**SECTIONS)
    write_test_golden(settings, test_rows=8)
    registry = get_registry(settings)
    registry.register(tiny_gguf.parent.parent / "hf", "tiny", "f32", ModelCard(task=settings.task.name))
    registry.register(tiny_gguf, "tiny", "gguf", ModelCard(task=settings.task.name,
                                                           engine_options={"n_threads": 1}))
    out = tmp_path / "gate.json"
    code = main(["--config", str(settings.config_path), "gate", "--candidate", "tiny@gguf", "--baseline", "tiny@f32",
                 "--json", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    result = json.loads(out.read_text())
    assert result["baseline"] == "tiny@f32"
    rows = {r["metric"]: r for r in result["comparison"]["rows"]}
    # Same weights: the same answers (up to near ties) on different engines, speed measured on each.
    assert abs(rows["accuracy"]["delta"]) <= 0.2 and rows["latency_p95_ms"]["ratio"] is not None
    sides = json.loads((layout.comparisons_root(settings) / "tiny@gguf" / "comparison.json").read_text())["side_by_side"]
    assert [sides[r][k] for r in ("candidate", "baseline") for k in ("engine", "format", "precision")] == [
        "llama_cpp", "gguf", "F32", "transformers", "safetensors", "float32"]
    assert json.loads((layout.profiles_root(settings) / "tiny@gguf" / "profile.json").read_text())["model"]["engine"] == "llama_cpp"
    report = (layout.reports_root(settings) / "tiny@gguf" / "report.html").read_text()
    assert "What ran" in report and "llama_cpp" in report and "transformers" in report
    # The leaderboard is its own unpartitioned asset (the gate judges one version): build it as it does.
    board = write_leaderboard(settings).path.read_text()
    assert "llama_cpp" in board and "gguf" in board and "F32" in board
