"""Metric definitions against hand-computed values."""

import pandas as pd
import pytest

from slm_assets.core.evaluation.metrics import (
    is_grounded,
    macro_f1,
    per_stratum,
    quality_metrics,
    robustness_metrics,
    token_f1,
    wilson_interval,
)


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(0, 20)[1] == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_macro_f1_scores_outside_answers_as_misses():
    refs = ["a", "a", "b", "b"]
    # a: P=1 R=0.5 F=2/3; b: P=1 R=1 F=1 (the junk answer is not a class of its own)
    assert macro_f1(["a", "junk", "b", "b"], refs) == pytest.approx((2 / 3 + 1) / 2)


def test_token_f1_and_grounding():
    assert token_f1("the Paris", "paris") == 1.0
    assert token_f1("new york city", "york") == pytest.approx(0.5)
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0
    assert is_grounded("Order 42", "where is my order 42?")
    assert not is_grounded("order 43", "where is my order 42?")


def _frame(rows):
    return pd.DataFrame(rows, columns=["example_id", "stratum", "reference", "variant", "prediction",
                                       "correct", "hallucinated", "invalid", "error"])


def test_quality_metrics_rates_and_strata():
    frame = _frame([
        ("1", "s1", "a", "original", "a", True, False, False, None),
        ("2", "s1", "b", "original", "zz", False, True, False, None),
        ("3", "s2", "a", "original", "", False, False, True, None),
        ("4", "s2", "b", "original", "", False, False, False, "RuntimeError: x"),
    ])
    m = quality_metrics(frame, "classification", report_hallucination=True)
    assert (m["accuracy"], m["hallucination_rate"], m["invalid_rate"], m["error_rate"]) == (0.25, 0.25, 0.25, 0.25)
    assert m["accuracy_ci_low"] < 0.25 < m["accuracy_ci_high"]
    strata = per_stratum(frame)
    assert strata["s1"]["accuracy"] == 0.5 and strata["s2"]["accuracy"] == 0.0 and strata["s1"]["n"] == 2
    gen = quality_metrics(frame, "generation", report_hallucination=False)
    assert gen["hallucination_rate"] is None and gen["macro_f1"] is None and gen["exact_match"] == 0.25


def test_robustness_accuracy_worst_family_and_consistency():
    frame = _frame([
        ("1", "s", "a", "original", "a", True, False, False, None),
        ("2", "s", "b", "original", "b", True, False, False, None),
        ("1", "s", "a", "casing", "a", True, False, False, None),
        ("2", "s", "b", "casing", "a", False, False, False, None),
        ("1", "s", "a", "typos", "a", True, False, False, None),
        ("2", "s", "b", "typos", "b", True, False, False, None),
    ])
    r = robustness_metrics(frame)
    assert r["families"]["casing"]["accuracy"] == 0.5 and r["families"]["typos"]["accuracy"] == 1.0
    assert r["worst_family"] == "casing" and r["worst_family_accuracy"] == 0.5
    assert r["consistency"] == pytest.approx(3 / 4)
    assert robustness_metrics(frame[frame["variant"] == "original"])["worst_family"] is None
