"""``comparison.thresholds``: entries merge over the defaults; no config can switch a metric off."""

import numpy as np
import pytest

from slm_assets.config import ConfigError, _default_thresholds
from slm_assets.core.comparison.compare import compare
from slm_assets.core.evaluation.metric_specs import METRICS

from .synthetic import artifacts


def test_one_entry_keeps_every_other_default(make_settings):
    settings = make_settings(comparison={"thresholds": {"latency_p95_ms": {"max_regression": 1.5}}})
    thresholds = settings.comparison.thresholds
    assert thresholds["latency_p95_ms"].max_regression == 1.5 and thresholds["latency_p95_ms"].kind == "ratio"
    defaults = _default_thresholds()
    assert {k: v for k, v in thresholds.items() if k != "latency_p95_ms"} == {
        k: v for k, v in defaults.items() if k != "latency_p95_ms"}
    assert set(defaults) == {m.name for m in METRICS}


def test_accuracy_collapse_is_a_regression_with_one_threshold_set(make_settings):
    # The README's `thresholds.<metric>`: setting latency alone used to drop every other threshold,
    # and 0.90 -> 0.10 accuracy (p ~ 1e-9) was judged pass.
    settings = make_settings(comparison={"bootstrap_samples": 200, "thresholds": {
        "latency_p95_ms": {"direction": "lower_is_better", "kind": "ratio", "max_regression": 1.5}}})
    n = 50
    base = np.arange(n) % 10 != 0  # 0.90
    cand = np.arange(n) % 10 == 0  # 0.10
    result = compare(artifacts("m@a", base), artifacts("m@b", cand), None, settings)
    assert result["verdict"] == "regression" and "accuracy" in result["regressions"]


@pytest.mark.parametrize("thresholds, message", [
    ({"acuracy": {"max_regression": 0.02}}, r"unknown metric\(s\) 'acuracy'; known: accuracy, macro_f1"),
    ({"accuracy": {"direction": "lower_is_better", "max_regression": 0.02}}, "direction is higher_is_better"),
    ({"latency_p95_ms": {"kind": "absolute", "max_regression": 5}}, "does not fit a ratio metric"),
    ({"accuracy": {"kind": "ratio", "max_regression": 0.9}}, "does not fit a paired_binary metric"),
    ({"accuracy": 0.02}, "expected a mapping with max_regression"),
])
def test_bad_thresholds_are_errors(make_settings, thresholds, message):
    with pytest.raises(ConfigError, match=message):
        make_settings(comparison={"thresholds": thresholds})


def test_stratum_accuracy_is_a_known_name(make_settings):
    settings = make_settings(comparison={"thresholds": {"stratum_accuracy": {"max_regression": 0.1}}})
    assert settings.comparison.thresholds["stratum_accuracy"].direction == "higher_is_better"
