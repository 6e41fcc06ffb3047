"""compare(): verdicts on synthetic paired predictions and side-by-side speed figures."""

import numpy as np
import pandas as pd
import pytest

from slm_assets.config import CostConfig

from slm_assets.core.comparison.artifacts import ComparisonError
from slm_assets.core.comparison.compare import compare
from slm_assets.core.comparison.render import markdown_table
from slm_assets.core.evaluation.metrics import encode_labels, macro_f1_codes

from .synthetic import artifacts, speed

N = 400


def _settings(make_settings, **comparison):
    return make_settings(comparison={"bootstrap_samples": 300, **comparison})


def _status(result):
    return {r["metric"]: r["status"] for r in result["rows"]}


@pytest.fixture
def base_correct():
    return np.random.default_rng(0).random(N) < 0.8


@pytest.fixture
def variants():
    return np.random.default_rng(1).random((2, N)) < 0.7


def test_identical_candidate_passes(make_settings, base_correct, variants):
    settings = _settings(make_settings)
    base = artifacts("m@a", base_correct, variant_correct=variants)
    cand = artifacts("m@b", base_correct, variant_correct=variants)
    result = compare(base, cand, speed(), settings)
    assert result["verdict"] == "pass"
    assert result["regressions"] == []
    assert all(s in ("pass", "n/a") for s in _status(result).values()), _status(result)
    assert result["flipped"] == {"right_to_wrong": [], "wrong_to_right": []}
    assert result["paired_examples"] == N


def test_identical_candidate_passes_non_inferiority(make_settings, base_correct, variants):
    settings = _settings(make_settings, policy="non_inferiority")
    base = artifacts("m@a", base_correct, variant_correct=variants)
    assert compare(base, artifacts("m@b", base_correct, variant_correct=variants), speed(), settings)["verdict"] == "pass"


def test_worse_candidate_is_a_regression_with_the_right_rows(make_settings, base_correct, variants):
    settings = _settings(make_settings)
    worse = base_correct.copy()
    right = np.flatnonzero(worse)
    worse[right[:60]] = False  # 60 right -> wrong on the originals
    cand = artifacts("m@b", worse, variant_correct=variants)
    result = compare(artifacts("m@a", base_correct, variant_correct=variants), cand, speed(), settings)
    status = _status(result)
    assert result["verdict"] == "regression"
    assert status["accuracy"] == "regression"
    assert status["macro_f1"] == "regression"
    # Robustness accuracy and speed did not move: they must not be blamed.
    assert status["robustness_worst_family_accuracy"] == "pass"
    assert status["latency_p95_ms"] == "pass" and status["tokens_per_second"] == "pass"
    assert status["hallucination_rate"] == "pass"
    flipped = result["flipped"]["right_to_wrong"]
    assert len(flipped) == 60 and result["flipped"]["wrong_to_right"] == []
    assert {f["example_id"] for f in flipped} == {f"ex{i:04d}" for i in right[:60]}
    assert all(f["baseline_prediction"] == f["reference"] != f["candidate_prediction"] for f in flipped)
    acc = next(r for r in result["rows"] if r["metric"] == "accuracy")
    assert acc["delta"] == pytest.approx(-60 / N)
    assert acc["ci"][0] < acc["delta"] < acc["ci"][1] < 0
    assert acc["p_value"] < 1e-10 and acc["worsened"] == 60
    assert "**REGRESSION**" in markdown_table(result)


def test_excerpts_come_from_the_inputs(make_settings, base_correct):
    settings = _settings(make_settings)
    worse = base_correct.copy()
    idx = int(np.flatnonzero(worse)[0])
    worse[idx] = False
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", worse), None, settings,
                     inputs={f"ex{idx:04d}": "x" * 500})
    (flip,) = result["flipped"]["right_to_wrong"]
    assert flip["example_id"] == f"ex{idx:04d}" and len(flip["input"]) == 160 and flip["input"].endswith("…")


def test_small_noisy_drop_is_not_a_regression(make_settings, base_correct):
    # 3 examples flip right->wrong and 1 wrong->right: a -0.5 point move, inside threshold and not significant.
    settings = _settings(make_settings)
    cand = base_correct.copy()
    right, wrong = np.flatnonzero(cand), np.flatnonzero(~cand)
    cand[right[:3]] = False
    cand[wrong[:1]] = True
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", cand), speed(), settings)
    assert result["verdict"] == "pass"


def test_significant_but_within_threshold_is_not_a_regression(make_settings, base_correct):
    settings = _settings(make_settings, thresholds={"accuracy": {"direction": "higher_is_better", "max_regression": 0.1}})
    cand = base_correct.copy()
    cand[np.flatnonzero(cand)[:20]] = False  # -5 points: real (p tiny) but within 10 points
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", cand), None, settings)
    assert _status(result)["accuracy"] == "pass"


def test_faster_but_less_accurate_fails_on_accuracy(make_settings, base_correct):
    settings = _settings(make_settings)
    cand = base_correct.copy()
    cand[np.flatnonzero(cand)[:40]] = False
    result = compare(
        artifacts("m@a", base_correct), artifacts("m@b", cand),
        speed(candidate_latency=(5.0, 5.2), candidate_tps=(210.0, 190.0)), settings,
    )
    status = _status(result)
    assert result["verdict"] == "regression"
    assert status["accuracy"] == "regression"
    assert status["latency_p95_ms"] == "improvement" and status["tokens_per_second"] == "improvement"


def test_more_accurate_but_slower_fails_on_latency(make_settings, base_correct):
    settings = _settings(make_settings)
    cand = base_correct.copy()
    cand[np.flatnonzero(~cand)[:40]] = True
    result = compare(
        artifacts("m@a", base_correct), artifacts("m@b", cand),
        speed(latency=(10.0,) * 5, candidate_latency=(14.0, 15.0, 14.5, 14.2, 14.8), tps=(100.0,) * 5,
              candidate_tps=(70.0, 75.0, 72.0, 71.0, 74.0), memory=(500.0,) * 5, candidate_memory=(500.0,) * 5),
        settings,
    )
    status = _status(result)
    assert status["accuracy"] == "improvement"
    assert status["latency_p95_ms"] == "regression" and status["tokens_per_second"] == "regression"
    assert result["verdict"] == "regression"
    assert set(result["regressions"]) == {"latency_p95_ms", "tokens_per_second"}
    lat = next(r for r in result["rows"] if r["metric"] == "latency_p95_ms")
    assert lat["ratio"] == pytest.approx(14.5 / 10.0) and 1.25 < lat["ci"][0] < 1.45 < lat["ci"][1] < 1.55
    assert lat["rounds"] == pytest.approx([1.4, 1.5, 1.45, 1.42, 1.48])


def test_more_accurate_and_a_little_slower_passes_under_looser_ratio(make_settings, base_correct):
    settings = _settings(make_settings, thresholds={
        "accuracy": {"direction": "higher_is_better", "max_regression": 0.02},
        "latency_p95_ms": {"direction": "lower_is_better", "kind": "ratio", "max_regression": 1.6},
    })
    cand = base_correct.copy()
    cand[np.flatnonzero(~cand)[:40]] = True
    sp = speed(latency=(10.0,) * 4, candidate_latency=(14.0, 15.0, 14.5, 14.4), tps=(100.0,) * 4, candidate_tps=(100.0,) * 4)
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", cand), sp, settings)
    assert result["verdict"] == "pass", result["inconclusive"]
    # Thresholds not given keep their defaults (merged, not replaced).
    assert _status(result)["macro_f1"] in ("pass", "improvement")


def test_hallucination_regression(make_settings, base_correct):
    settings = _settings(make_settings)
    halluc = np.zeros(N, bool)
    halluc[:30] = True
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", base_correct, hallucinated=halluc), None, settings)
    assert _status(result)["hallucination_rate"] == "regression"


def test_robustness_regression(make_settings, base_correct, variants):
    settings = _settings(make_settings)
    worse = variants.copy()
    worse[1, np.flatnonzero(worse[1])[:80]] = False  # the "typos" family collapses
    result = compare(artifacts("m@a", base_correct, variant_correct=variants),
                     artifacts("m@b", base_correct, variant_correct=worse), None, settings)
    status = _status(result)
    assert status["robustness_worst_family_accuracy"] == "regression"
    assert status["accuracy"] == "pass"
    row = next(r for r in result["rows"] if r["metric"] == "robustness_worst_family_accuracy")
    assert row["worst_family_candidate"] == "typos"


def test_per_stratum_regression_is_holm_corrected(make_settings, base_correct):
    settings = _settings(make_settings)
    cand = base_correct.copy()
    # Only stratum p0 (even indices) loses 30 examples: overall -7.5 points, stratum -15 points.
    even_right = [i for i in np.flatnonzero(cand) if i % 2 == 0][:30]
    cand[even_right] = False
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", cand), None, settings)
    rows = {r["metric"]: r for r in result["rows"]}
    assert rows["accuracy[product=p0]"]["status"] == "regression"
    assert rows["accuracy[product=p1]"]["status"] == "pass"
    p0 = rows["accuracy[product=p0]"]
    assert p0["p_value"] == pytest.approx(min(1.0, 2 * p0["p_value_raw"]))  # smallest of 2 -> x2


def test_stratum_flag_without_blocking(make_settings, base_correct):
    settings = _settings(make_settings, per_stratum_blocking=False,
                         thresholds={"accuracy": {"direction": "higher_is_better", "max_regression": 0.2},
                                     "macro_f1": {"max_regression": 0.2},
                                     "stratum_accuracy": {"direction": "higher_is_better", "max_regression": 0.05}})
    cand = base_correct.copy()
    cand[[i for i in np.flatnonzero(cand) if i % 2 == 0][:30]] = False
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", cand), None, settings)
    assert _status(result)["accuracy[product=p0]"] == "regression"
    assert result["verdict"] == "pass"


def test_different_golden_versions_are_refused(make_settings, base_correct):
    settings = _settings(make_settings)
    with pytest.raises(ComparisonError, match="golden-set versions.*'v2' vs 'v1'"):
        compare(artifacts("m@a", base_correct), artifacts("m@b", base_correct, golden_version="v2"), None, settings)


def test_different_task_configs_are_refused(make_settings, base_correct):
    settings = _settings(make_settings)
    with pytest.raises(ComparisonError, match="task configurations"):
        compare(artifacts("m@a", base_correct), artifacts("m@b", base_correct, task_hash="other"), None, settings)


def test_no_baseline_passes(make_settings, base_correct):
    result = compare(None, artifacts("m@b", base_correct), None, _settings(make_settings))
    assert result["verdict"] == "no_baseline" and result["baseline"] is None
    assert "no baseline" in markdown_table(result)


def test_duplicate_example_is_an_error(make_settings, base_correct):
    cand = artifacts("m@b", base_correct)
    cand.predictions = pd.concat([cand.predictions, cand.predictions.iloc[:1]])
    with pytest.raises(ComparisonError, match="appears twice"):
        compare(artifacts("m@a", base_correct), cand, None, _settings(make_settings))


def test_macro_f1_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    ref = rng.choice(["a", "b", "c"], 200)
    pred = np.where(rng.random(200) < 0.6, ref, rng.choice(["a", "b", "zz"], 200))
    r, p = encode_labels(ref, pred)
    # Over the reference labels: "zz" is a miss of the true label, not a class of its own.
    assert macro_f1_codes(r, p) == pytest.approx(f1_score(ref, pred, labels=["a", "b", "c"], average="macro"))


def _side_by_side_result(p95s, seconds, size_mb, gpu=None):
    return {
        "latency": {"rounds": [{"p95_ms": p} for p in p95s]},
        "throughput": {"best_batch_size": 2, "batches": [
            {"batch_size": 1, "output_tokens": 16, "seconds": [1.0, 1.0]},
            {"batch_size": 2, "output_tokens": 32, "seconds": list(seconds)},
        ]},
        "model": {"size_mb": size_mb},
        "summary": {"gpu_peak_allocated_mb": gpu, "tokens_per_second": 32 / min(seconds)},
    }


def test_speed_from_side_by_side_pairs_rounds(make_settings, base_correct):
    from slm_assets.core.comparison.speed import speed_from_side_by_side

    price = CostConfig(hardware_price_per_hour={"cpu": 3.6})  # 1 req/s at 3.6/h = 1.0 per 1,000 requests
    sp = speed_from_side_by_side(_side_by_side_result([10, 12], [1.0, 2.0], 100),
                                 _side_by_side_result([20, 24], [2.0, 4.0], 100), price)
    assert sp["baseline"] == {"latency_p95_ms": [10, 12], "tokens_per_second": [32.0, 16.0], "peak_memory_mb": [100],
                              "cost_per_1k_requests": [0.5, 1.0]}
    assert sp["candidate"]["tokens_per_second"] == [16.0, 8.0] and sp["candidate"]["cost_per_1k_requests"] == [1.0, 2.0]
    result = compare(artifacts("m@a", base_correct), artifacts("m@b", base_correct), sp, _settings(make_settings))
    rows = {r["metric"]: r for r in result["rows"]}
    assert rows["latency_p95_ms"]["ratio"] == pytest.approx(2.0) and rows["latency_p95_ms"]["status"] == "regression"
    assert rows["tokens_per_second"]["ratio"] == pytest.approx(0.5) and rows["tokens_per_second"]["note"] == "batch size 2"
    assert rows["peak_memory_mb"]["ratio"] == 1.0 and "weights size" in rows["peak_memory_mb"]["note"]
    assert rows["cost_per_1k_requests"]["ratio"] == pytest.approx(2.0)
    assert rows["cost_per_1k_requests"]["status"] == "regression"  # twice the price per request


def test_one_noisy_round_is_not_a_speed_regression(make_settings, base_correct):
    # Round 1 is 1.6x slower, round 2 equal: the median 1.3x is over 1.25 but the rounds disagree.
    sp = speed(latency=(10.0, 10.0), candidate_latency=(16.0, 10.0))
    same = (artifacts("m@a", base_correct), artifacts("m@b", base_correct))
    result = compare(*same, sp, _settings(make_settings))
    assert _status(result)["latency_p95_ms"] == "inconclusive"
    assert result["verdict"] == "inconclusive" and result["inconclusive"] == ["latency_p95_ms"]
    strict = _settings(make_settings, policy="non_inferiority")
    assert _status(compare(*same, sp, strict))["latency_p95_ms"] == "regression"
