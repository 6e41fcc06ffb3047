"""Paired statistics against values computed by hand."""

import numpy as np
import pytest

from slm_assets.core.comparison import stats


def test_mcnemar_exact_matches_binomial_by_hand():
    # 9 pairs right->wrong, 1 wrong->right, 10 concordant: p = 2 * (C(10,0) + C(10,1)) / 2^10.
    base = [True] * 9 + [False] + [True] * 5 + [False] * 5
    cand = [False] * 9 + [True] + [True] * 5 + [False] * 5
    res = stats.mcnemar_exact(base, cand)
    assert (res.improved, res.worsened) == (1, 9)
    assert res.p_value == pytest.approx(22 / 1024)


def test_mcnemar_without_discordant_pairs_is_one():
    assert stats.mcnemar_exact([True, False], [True, False]).p_value == 1.0


def test_mcnemar_refuses_unpaired_lengths():
    with pytest.raises(ValueError, match="length"):
        stats.mcnemar_exact([True], [True, False])


def test_holm_by_hand():
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_wilson_by_hand():
    low, high = stats.wilson_ci(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)
    assert stats.wilson_ci(0, 0) == (0.0, 1.0)


def test_paired_bootstrap_is_seeded_and_covers_the_delta():
    rng = np.random.default_rng(0)
    b = rng.random(300) < 0.7
    c = b.copy()
    c[:30] = False  # candidate loses 30 of the examples the baseline had (some already wrong)
    metric = lambda idx: c[idx].mean() - b[idx].mean()  # noqa: E731
    one = stats.paired_bootstrap(metric, 300, 500, seed=7)
    two = stats.paired_bootstrap(metric, 300, 500, seed=7)
    assert one == two
    assert one.ci_low <= one.delta <= one.ci_high < 0
    assert one.p_value < 0.01


def test_paired_bootstrap_of_identical_models_is_not_significant():
    b = np.array([True, False] * 50)
    res = stats.paired_bootstrap(lambda idx: b[idx].mean() - b[idx].mean(), 100, 200)
    assert (res.delta, res.ci_low, res.ci_high, res.p_value) == (0.0, 0.0, 0.0, 1.0)
