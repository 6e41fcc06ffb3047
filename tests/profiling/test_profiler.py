"""profile_model on CPU and on the fake GPU layer, side-by-side interleaving, and the scorecard."""

import json

import pytest

from slm_assets.config import SloConfig
from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine
from slm_assets.core.profiling.gpu import GpuLayer
from slm_assets.core.profiling.profiler import profile_model, profile_side_by_side
from slm_assets.core.profiling.scorecard import build_scorecard, scorecard_markdown
from slm_assets.testing import build_tiny_model

from .fakes import FakeCuda, FakeNvml

HEADLINE = ("latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms", "ttft_ms", "tpot_ms",
            "tokens_per_second", "tokens_per_second_bs1", "tokens_per_second_bs2", "requests_per_second_bs2",
            "peak_rss_mb", "peak_memory_mb", "energy_j_per_inference", "load_seconds", "size_mb", "parameters",
            "roofline_share", "roofline_bound_tokens_per_second", "memory_bandwidth_gbps")


def test_profile_on_cpu_has_every_figure(tiny_engine, prompts, fast_cfg, tmp_path):
    profile = profile_model(tiny_engine, prompts, fast_cfg, rapl_root=tmp_path)
    json.dumps(profile)  # JSON-able as is
    summary = profile["summary"]
    for key in HEADLINE:
        assert isinstance(summary[key], int | float) and summary[key] > 0, key
    assert summary["gpu_peak_allocated_mb"] is None and summary["peak_memory_mb"] == summary["peak_rss_mb"]
    assert summary["energy_method"] == "estimated" and "estimated" in profile["energy"]["note"]
    assert summary["noisy"] is False and profile["noise"]["reasons"] == []
    assert profile["latency"]["requests"] >= fast_cfg.latency_prompts
    assert set(profile["memory"]["phases"]) == {"latency", "throughput_bs1", "throughput_bs2", "energy"}
    assert profile["memory"]["method"] == summary["memory_method"] == "in_process"  # no fresh-process probe here
    model = profile["model"]
    assert model["parameters"] == sum(p.numel() for p in tiny_engine.model.parameters())
    assert model["dtype"] == "float32" and model["device"] == "cpu" and model["size_mb"] > 0
    assert (summary["engine"], summary["format"], summary["precision"]) == ("transformers", "safetensors", "float32")
    assert profile["environment"]["device"] == "cpu"
    assert 0 < summary["roofline_share"] < 1


def test_profile_gpu_path_against_fake_nvml_and_cuda(tiny_engine, prompts, fast_cfg, monkeypatch):
    cuda = FakeCuda(peak_allocated_bytes=123 * 1024 * 1024)
    nvml = FakeNvml(cuda, idle_watts=60.0, joules_per_sync=0.2, used_bytes=2048 * 1024 * 1024)
    cfg = fast_cfg.model_copy(update={"max_relative_dispersion": 1e-12, "idle_seconds": 0.2})
    monkeypatch.setattr(tiny_engine.decoder, "sync", cuda.synchronize)  # the engine synchronises as on CUDA
    profile = profile_model(tiny_engine, prompts, cfg, gpu=GpuLayer(cuda=cuda, nvml=nvml))
    energy, summary = profile["energy"], profile["summary"]
    assert energy["method"] == "nvml_energy_counter"
    assert energy["idle_watts"] == pytest.approx(60.0, rel=0.02)
    # Each timed inference synchronises twice: 2 x 0.2 J above idle.
    assert energy["j_per_inference"] == pytest.approx(0.4, abs=0.02)
    assert summary["gpu_peak_allocated_mb"] == pytest.approx(123)
    assert summary["peak_memory_mb"] == pytest.approx(123)
    assert summary["nvml_peak_used_mb"] == pytest.approx(2048)
    assert summary["memory_method"] == "torch_peak_allocated"
    assert cuda.resets == len(profile["memory"]["phases"])
    # Latency requests also synchronise at every decoding step, before each timestamp.
    assert cuda.syncs > profile["latency"]["requests"] * fast_cfg.latency_new_tokens
    assert profile["environment"]["gpu_name"] == "Fake H100"
    assert summary["noisy"] is True and profile["noise"]["reasons"]
    card = {r["name"]: r for r in build_scorecard(summary, SloConfig())}
    assert card["vram"]["status"] == "pass" and card["vram"]["value"] == pytest.approx(123 / 1024)
    assert card["energy_per_inference"]["status"] == "pass"


def test_side_by_side_interleaves_rounds(tiny_engine, prompts, fast_cfg, tmp_path):
    wider = build_tiny_model(tmp_path / "wider", seed=1, hidden_size=64, model_type="gpt2")
    other = TransformersEngine.load(wider, TransformersConfig(device="cpu"))
    order = []
    results = profile_side_by_side([tiny_engine, other], prompts, fast_cfg, rounds=2, progress=order.append,
                                   memory_probes=[lambda: {"method": "fresh_process", "peak_rss_mb": 7.0}, None])
    assert order[-1] == "memory: peak RSS of the engine alone, in a fresh process"  # the probe given
    assert order[:-1] == ["side by side round 1/2: model 1/2", "side by side round 1/2: model 2/2",
                     "side by side round 2/2: model 1/2", "side by side round 2/2: model 2/2"]
    assert [r["side_by_side"]["position"] for r in results] == [0, 1]
    assert results[1]["model"]["parameters"] > results[0]["model"]["parameters"]
    for r in results:
        assert len(r["latency"]["rounds"]) == 2
        assert r["latency"]["requests"] == 2 * 2  # ceil(4 / 2) per round
        assert [len(b["seconds"]) for b in r["throughput"]["batches"]] == [2, 2]  # one run per round
        assert r["summary"]["latency_p95_ms"] > 0 and r["summary"]["tokens_per_second"] > 0
        assert r["energy"] is None
    assert results[0]["summary"]["peak_memory_mb"] == 7.0 and results[0]["summary"]["memory_method"] == "fresh_process"
    assert results[1]["model"]["details"]["architecture"] == "GPT2LMHeadModel"


def _summary(**figures):
    base = {"latency_p95_ms": 50.0, "tokens_per_second": 1000.0, "best_batch_size": 32,
            "gpu_peak_allocated_mb": None, "energy_j_per_inference": 0.4, "energy_method": "estimated"}
    return {**base, **figures}


def test_scorecard_pass_fail_and_not_applicable():
    slo = SloConfig()
    card = {r["name"]: r for r in build_scorecard(_summary(), slo, {"hallucination_rate": 0.001})}
    assert {k: r["status"] for k, r in card.items()} == {
        "p95_latency": "pass", "throughput": "pass", "vram": "not_applicable",
        "hallucination_rate": "pass", "energy_per_inference": "pass"}
    assert "CPU" in card["vram"]["note"] and "estimated" in card["energy_per_inference"]["note"]

    bad = _summary(latency_p95_ms=100.0, tokens_per_second=999.0, gpu_peak_allocated_mb=4096.0,
                   energy_j_per_inference=0.6)
    card = {r["name"]: r for r in build_scorecard(bad, slo, {"hallucination_rate": 0.01})}
    assert all(r["status"] == "fail" for r in card.values())
    assert card["vram"]["value"] == pytest.approx(4.0)

    missing = {r["name"]: r for r in build_scorecard(_summary(energy_j_per_inference=None, energy_method=None), slo)}
    assert missing["hallucination_rate"]["status"] == "not_applicable"
    assert missing["energy_per_inference"]["status"] == "not_applicable"

    md = scorecard_markdown(build_scorecard(bad, slo))
    assert "| p95_latency | 100 ms | < 100 ms | fail |" in md and "n/a" in md
