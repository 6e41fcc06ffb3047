"""Side-by-side rounds continue while a speed ratio is undecided, up to the round budget."""

import pytest

from slm_assets.config import ComparisonConfig, ProfilingConfig
from slm_assets.core.comparison.speed import undecided
from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine
from slm_assets.core.profiling.profiler import profile_side_by_side

from . import virtual_clock
from .synthetic import speed

CFG = ProfilingConfig(warmup_runs=1, latency_prompts=2, latency_min_seconds=0.0, latency_new_tokens=2,
                      batch_sizes=[1], throughput_new_tokens=2, repeats=1, max_relative_dispersion=1e9,
                      energy_window_seconds=0.05, idle_seconds=0.05, bandwidth_test_mb=8)


def test_undecided_lists_ratios_straddling_their_limit():
    cfg = ComparisonConfig()
    assert undecided(speed(), cfg) == []  # identical rounds: decided (pass)
    assert undecided(speed(latency=(10.0, 10.0), candidate_latency=(16.0, 10.0)), cfg) == ["latency_p95_ms"]
    many = speed(latency=(10.0,) * 6, candidate_latency=(16.0, 15.0, 16.0, 15.5, 15.8, 16.2),
                 tps=(100.0,) * 6, candidate_tps=(100.0,) * 6)
    assert undecided(many, cfg) == []  # six rounds say "1.5x slower": decided (regression)


@pytest.mark.parametrize("answer, expected_rounds, expected_calls", [(True, 4, [2, 3]), (False, 2, [2])])
def test_rounds_stop_when_decided_or_at_the_budget(tiny_model_dir, one_torch_thread,
                                                   answer, expected_rounds, expected_calls):
    clock = virtual_clock.VirtualClock()
    inner = TransformersEngine.load(tiny_model_dir, TransformersConfig(device="cpu"))
    loaded = [virtual_clock.VirtualTimeEngine(inner, clock, 1.0), virtual_clock.VirtualTimeEngine(inner, clock, 1.2)]
    calls = []

    def more_rounds(results):
        calls.append(results[0]["side_by_side"]["rounds"])
        return answer

    results = profile_side_by_side(loaded, ["hello there", "refund please"], CFG, rounds=2, gpu=None,
                                   more_rounds=more_rounds, max_rounds=4)
    assert calls == expected_calls
    assert [r["side_by_side"]["rounds"] for r in results] == [expected_rounds] * 2
    assert len(results[0]["latency"]["rounds"]) == expected_rounds
    assert results[1]["latency"]["rounds"][0]["p95_ms"] == pytest.approx(1.2 * results[0]["latency"]["rounds"][0]["p95_ms"])
    inner.close()
