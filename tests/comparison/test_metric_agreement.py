"""One definition per metric: metrics.json, the gate's rows and the report agree on the same predictions."""

import json

import numpy as np
import pytest

from slm_assets.core.comparison.compare import compare
from slm_assets.core.evaluation.metric_specs import QUALITY
from slm_assets.core.evaluation.metrics import macro_f1, quality_metrics, robustness_metrics
from slm_assets.core.reporting.report import version_summary

from .synthetic import artifacts, write_artifacts


def _with_metrics_json(art):
    """What model_evaluation writes for these predictions: the evaluation's own metric code."""
    frame = art.predictions.assign(error=None)
    originals = frame[frame["variant"] == "original"]
    robustness = robustness_metrics(frame)
    art.metrics.update(quality_metrics(originals, "classification", report_hallucination=True))
    art.metrics.update({"robustness_worst_family_accuracy": robustness["worst_family_accuracy"],
                        "robustness_consistency": robustness["consistency"]})
    return art


def test_every_metric_agrees(make_settings):
    settings = make_settings(comparison={"bootstrap_samples": 100})
    rng = np.random.default_rng(7)
    n = 120
    halluc = rng.random(n) < 0.1
    base = _with_metrics_json(artifacts("m@a", rng.random(n) < 0.7, variant_correct=rng.random((2, n)) < 0.6))
    cand = _with_metrics_json(artifacts("m@b", rng.random(n) < 0.8, variant_correct=rng.random((2, n)) < 0.7,
                                        hallucinated=halluc))
    for art in (base, cand):
        write_artifacts(settings, art)
    rows = {r["metric"]: r for r in compare(base, cand, None, settings)["rows"]}
    for spec in QUALITY:
        for art, side in ((base, "baseline"), (cand, "candidate")):
            stored = art.metrics[spec.name]
            assert rows[spec.name][side] == pytest.approx(stored), (spec.name, side)
            assert version_summary(settings, art.key)[spec.name] == pytest.approx(stored), (spec.name, "report")
    json.dumps(rows)  # the record stays JSON


def test_macro_f1_counts_outside_answers_as_misses():
    # The case that once scored 0.833 in metrics.json and 0.556 in the gate: one definition now.
    refs = ["a", "a", "b", "b"]
    preds = ["a", "junk", "b", "b"]
    assert macro_f1(preds, refs) == pytest.approx((2 / 3 + 1) / 2)
