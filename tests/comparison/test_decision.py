"""Three outcomes per row, power, and ratios that only look different from 1."""

import pytest

from slm_assets.config import Threshold
from slm_assets.core.comparison import stats
from slm_assets.core.comparison.decision import Row, decide, power_statement, verdict

ACC = Threshold(direction="higher_is_better", max_regression=0.02)
LATENCY = Threshold(direction="lower_is_better", kind="ratio", max_regression=1.25)
TPS = Threshold(direction="higher_is_better", kind="ratio", max_regression=0.8)


def _acc(delta, ci, p):
    return decide(Row("accuracy", 0.8, 0.8 + delta, delta=delta, ci=list(ci), p_value=p), ACC,
                  "significant_regression", 0.05).status


def test_quality_three_outcomes():
    assert _acc(-0.005, (-0.015, 0.004), 0.4) == "pass"  # the whole interval inside the 2-point margin
    assert _acc(-0.08, (-0.12, -0.04), 1e-4) == "regression"  # significant and beyond the margin
    assert _acc(-0.01, (-0.09, 0.07), 0.7) == "inconclusive"  # 80 examples: could be anything
    assert _acc(-0.03, (-0.07, 0.01), 0.2) == "inconclusive"  # beyond the margin but not significant
    assert _acc(0.05, (0.02, 0.08), 1e-3) == "improvement"


def test_non_inferiority_makes_undecided_a_regression():
    row = Row("accuracy", 0.8, 0.79, delta=-0.01, ci=[-0.09, 0.07], p_value=0.7)
    assert decide(row, ACC, "non_inferiority", 0.05).status == "regression"


@pytest.mark.parametrize("ratio, ci, threshold, status", [
    (1.0, [1.0, 1.0], LATENCY, "pass"),  # exactly 1: never an improvement
    (1.0000000002, [1.0000000002, 1.0000000002], TPS, "pass"),  # 16 / (16 / 100) / 100
    (0.9999999998, [0.9999999998, 0.9999999998], LATENCY, "pass"),
    (0.6, [0.55, 0.65], LATENCY, "improvement"),
    (1.009, [0.991, 1.037], LATENCY, "pass"),  # an interval straddling 1 is no improvement either way
    (1.012, [0.927, 1.089], TPS, "pass"),
    (1.2, [1.1, 1.3], TPS, "improvement"),
    (1.45, [1.40, 1.50], LATENCY, "regression"),
    (1.3, [0.9, 1.8], LATENCY, "inconclusive"),  # straddles its limit: never a regression
    (0.85, [0.7, 1.0], TPS, "inconclusive"),
    (1.1, None, LATENCY, "inconclusive"),  # one round of a timing: no spread to judge by
])
def test_ratio_outcomes(ratio, ci, threshold, status):
    row = Row("latency_p95_ms", 10.0, 10.0 * ratio, ratio=ratio, ci=ci)
    assert decide(row, threshold, "significant_regression", 0.05).status == status


def test_verdict_counts_strata_only_as_regressions():
    rows = [Row("accuracy", 1, 1, status="pass"), Row("accuracy[p0]", 1, 1, status="inconclusive")]
    assert verdict(rows, per_stratum_blocking=True) == ("pass", [], [])
    rows.append(Row("latency_p95_ms", 1, 1, status="inconclusive"))
    assert verdict(rows, True) == ("inconclusive", [], ["latency_p95_ms"])
    rows.append(Row("accuracy[p1]", 1, 1, status="regression"))
    assert verdict(rows, True)[0] == "regression" and verdict(rows, False)[0] == "inconclusive"


def test_minimum_detectable_difference():
    # 80 examples, 20 % discordant: only drops of ~14 points are found at 80 % power.
    assert stats.mcnemar_mdd(80, 16) == pytest.approx(0.138, abs=0.005)
    assert stats.mcnemar_mdd(400, 80) < stats.mcnemar_mdd(80, 16)
    assert stats.mcnemar_mdd(2000, 100) < 0.02 < stats.mcnemar_mdd(500, 100)
    assert stats.mcnemar_mdd(0, 0) is None
    # Interval-based: (1.96 + 0.84) standard errors.
    assert stats.interval_mdd([-0.0392, 0.0392]) == pytest.approx(0.056, abs=1e-3)


def test_power_statement_names_what_cannot_be_seen():
    rows = [decide(Row("accuracy", 0.8, 0.8, delta=0.0, ci=[-0.05, 0.05], p_value=1.0, mdd=0.14), ACC,
                   "significant_regression", 0.05),
            decide(Row("hallucination_rate", 0.0, 0.0, delta=0.0, ci=[0.0, 0.0], p_value=1.0, mdd=0.004),
                   Threshold(direction="lower_is_better", max_regression=0.01), "significant_regression", 0.05)]
    power = power_statement(rows, 80, 0.8, 0.05)
    assert power["detectable"] == ["hallucination_rate"]
    assert power["sentence"] == ("With 80 paired examples (power 80%, alpha 0.05) the gate could detect any drop "
                                 "beyond the threshold in hallucination_rate; it could not detect drops smaller "
                                 "than accuracy 14.0 pts (threshold 2.0 pts).")


def test_ratio_interval_narrows_with_rounds():
    two = stats.ratio_interval([1.4, 1.5])
    six = stats.ratio_interval([1.4, 1.5, 1.45, 1.42, 1.48, 1.44])
    assert two[0] < 1.25 < 1.4 < six[0] < six[1] < 1.5 < two[1]
    assert stats.ratio_interval([1.0, 1.0, 1.0]) == (1.0, 1.0) and stats.ratio_interval([1.2]) is None
