"""``slm-bench gate`` end to end on tiny models and a generated golden set: every exit code."""

import json
import os

import pytest

from slm_assets.cli import main
from slm_assets.core.models.registry import get_registry
from slm_assets.core.golden.store import write_golden
from tests.comparison import virtual_clock
from tests.evaluation.helpers import LABELS, golden_rows, register, write_test_golden
from slm_assets.core import layout

# Tiny everywhere: a few examples, a 0.2 s latency window, batch sizes 1 and 2.
SECTIONS = {
    "task": {"labels": LABELS, "max_new_tokens": 3, "stop": ["\n"]},
    "evaluation": {"batch_size": 4, "device": "cpu", "robustness": {"subset_size": 4, "families": ["casing", "typos"]}},
    "profiling": {"warmup_runs": 1, "latency_prompts": 4, "latency_min_seconds": 0.2, "latency_new_tokens": 2,
                  "batch_sizes": [1, 2], "throughput_new_tokens": 2, "repeats": 1, "energy_window_seconds": 0.2,
                  "idle_seconds": 0.1, "bandwidth_test_mb": 8},
    "comparison": {
        "bootstrap_samples": 100, "side_by_side_rounds": 2, "promote_on_pass": True,
        "thresholds": {
            "accuracy": {"direction": "higher_is_better", "max_regression": 0.02},
            "hallucination_rate": {"direction": "lower_is_better", "max_regression": 0.01},
            # Timings run on a virtual clock (virtual_clock.py): twins measure exactly 1x, the slowed
            # candidate exactly 3x, on any machine under any load.
            "latency_p95_ms": {"direction": "lower_is_better", "kind": "ratio", "max_regression": 2.5},
        },
    },
}


@pytest.fixture(autouse=True)
def _ephemeral_instance(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def settings(make_settings):
    settings = make_settings(**SECTIONS)
    write_test_golden(settings, test_rows=12)
    return settings


def gate(settings, capsys, key, tmp_path, *extra):
    out = tmp_path / f"gate-{key}.json"
    code = main(["--config", str(settings.config_path), "gate", "--candidate", key, "--json", str(out), *extra])
    captured = capsys.readouterr()
    reason = captured.err.strip().splitlines()[-1]
    return code, reason, json.loads(out.read_text()), captured.out


@pytest.mark.slow  # evaluates and profiles three versions, two side by side
def test_first_pass_then_regression(settings, tiny_model_dir, capsys, tmp_path, monkeypatch):
    registry = get_registry(settings)
    register(settings, tiny_model_dir, "tiny", "v1")
    register(settings, tiny_model_dir, "tiny", "v2")
    register(settings, tiny_model_dir, "tiny", "v3")  # the same weights, 3x slower per decoding step
    virtual_clock.install(monkeypatch, slow={"tiny@v3": 3.0})
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    code, reason, result, out = gate(settings, capsys, "tiny@v1", tmp_path)
    assert code == 0, reason
    assert result["verdict"] == "no_baseline" and "first model" in reason
    assert registry.aliases("tiny") == {"production": "v1"}  # promote_on_pass: the first model is promoted
    assert (layout.reports_root(settings) / "tiny@v1" / "report.html").is_file()
    assert "## SLM gate: tiny@v1: PASS" in out and "## SLM gate: tiny@v1: PASS" in summary.read_text()

    # Same weights under a new version: passes against production and is promoted.
    code, reason, result, out = gate(settings, capsys, "tiny@v2", tmp_path)
    assert code == 0, reason
    assert result["verdict"] == "pass" and result["baseline"] == "tiny@v1"
    rows = {r["metric"]: r for r in result["comparison"]["rows"]}
    assert rows["accuracy"]["delta"] == 0 and rows["accuracy"]["mdd"] > 0
    assert rows["latency_p95_ms"]["ratio"] == 1.0 and rows["latency_p95_ms"]["ci"] == [1.0, 1.0]
    assert rows["latency_p95_ms"]["status"] == "pass"  # exactly 1: not an improvement
    assert "could not detect drops smaller than accuracy" in out  # 12 examples: power is shown
    assert registry.aliases("tiny")["production"] == "v2"
    audit = registry.audit_log("tiny")
    assert [(a["version"], a["verdict"]) for a in audit] == [("v1", "no_baseline"), ("v2", "pass")]

    # A deterministically 3x slower candidate: exit 1, the speed rows marked, production unchanged.
    code, reason, result, out = gate(settings, capsys, "tiny@v3", tmp_path)
    assert code == 1, reason
    assert reason.startswith("slm-bench gate: regression:") and "latency_p95_ms" in reason
    assert result["status"] == "regression" and result["verdict"] == "regression"
    rows = {r["metric"]: r for r in result["comparison"]["rows"]}
    assert rows["latency_p95_ms"]["status"] == "regression" and rows["latency_p95_ms"]["ratio"] == pytest.approx(3.0)
    assert rows["tokens_per_second"]["status"] == "regression"
    assert rows["tokens_per_second"]["rounds"] == pytest.approx([1 / 3] * 2)  # every round shown
    assert rows["accuracy"]["status"] == "pass"
    assert "**REGRESSION**" in out
    assert registry.aliases("tiny")["production"] == "v2" and len(registry.audit_log("tiny")) == 2
    # The report is drawn even though the blocking check stopped the run.
    report = open(result["report"]).read()
    assert "Verdict: REGRESSION" in report and "Side-by-side rounds (2)" in report

    # An explicit baseline: v3 against itself passes.
    code, reason, result, _ = gate(settings, capsys, "tiny@v3", tmp_path, "--baseline", "tiny@v3")
    assert code == 0 and result["baseline"] == "tiny@v3"


@pytest.mark.slow  # evaluates and profiles two versions
def test_inconclusive_exit_code(make_settings, tiny_model_dir, capsys, tmp_path, monkeypatch):
    # One side-by-side round gives a timing no spread to judge by: INCONCLUSIVE, which this config fails.
    sections = {**SECTIONS, "comparison": {**SECTIONS["comparison"], "side_by_side_rounds": 1,
                                           "side_by_side_max_rounds": 1, "fail_on_inconclusive": True}}
    settings = make_settings(**sections)
    write_test_golden(settings, test_rows=12)
    virtual_clock.install(monkeypatch, slow={})
    registry = get_registry(settings)
    register(settings, tiny_model_dir, "tiny", "v1")
    register(settings, tiny_model_dir, "tiny", "v2")
    assert gate(settings, capsys, "tiny@v1", tmp_path)[0] == 0
    code, reason, result, out = gate(settings, capsys, "tiny@v2", tmp_path)
    assert code == 3, reason
    assert reason.startswith("slm-bench gate: inconclusive:") and "latency_p95_ms" in reason
    assert result["status"] == "inconclusive" and result["verdict"] == "inconclusive"
    assert registry.aliases("tiny")["production"] == "v1"  # never promoted on INCONCLUSIVE


def test_unknown_model_is_an_error(settings, capsys, tmp_path):
    code, reason, result, _ = gate(settings, capsys, "nobody@v1", tmp_path)
    assert code == 2 and reason.startswith("slm-bench gate: unknown model") and "not registered" in reason
    assert result["status"] == "error"


def test_broken_model_is_an_error(settings, tiny_model_dir, capsys, tmp_path):
    version = register(settings, tiny_model_dir, "tiny", "v1")
    weights = version.path / "model.safetensors"
    os.chmod(weights, 0o644)
    weights.write_bytes(weights.read_bytes()[:100])  # truncated after registration
    code, reason, _, _ = gate(settings, capsys, "tiny@v1", tmp_path)
    assert code == 2 and "registered model changed" in reason and "model.safetensors" in reason, reason


def test_tampered_golden_set_is_an_error(settings, tiny_model_dir, capsys, tmp_path):
    register(settings, tiny_model_dir, "tiny", "v1")
    test_file = layout.golden_dir(settings) / "test.parquet"
    os.chmod(test_file, 0o644)
    test_file.write_bytes(test_file.read_bytes() + b"tampered")
    code, reason, _, _ = gate(settings, capsys, "tiny@v1", tmp_path)
    assert code == 2 and "golden" in reason, reason


def test_failed_golden_check_is_an_error(make_settings, tiny_model_dir, capsys, tmp_path):
    settings = make_settings(**SECTIONS)
    test = golden_rows(12)
    # Planted leak: golden_test's rows are in golden_train too.
    write_golden(settings, {"train": test, "validation": golden_rows(4, offset=2000), "test": test}, "tests")
    register(settings, tiny_model_dir, "tiny", "v1")
    code, reason, result, _ = gate(settings, capsys, "tiny@v1", tmp_path)
    assert code == 2 and reason.startswith("slm-bench gate: check failed: golden_test:"), reason
    assert result["status"] == "error" and not (layout.comparisons_root(settings) / "tiny@v1").exists()
