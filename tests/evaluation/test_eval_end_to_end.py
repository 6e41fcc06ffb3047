"""evaluate_model on a registered tiny model and a generated golden set."""

import json

import pandas as pd
import pytest

from slm_assets.core.evaluation.run import evaluate_model
from tests.evaluation.helpers import LABELS, eval_sections, register, write_test_golden
from slm_assets.core import layout


@pytest.fixture
def setup(make_settings, lively_model_dir):
    settings = make_settings(**eval_sections())
    write_test_golden(settings, test_rows=12)
    return settings, register(settings, lively_model_dir)


def test_classification_writes_metrics_and_predictions(setup):
    settings, version = setup
    result = evaluate_model(settings, version, show_progress=False)
    metrics = json.loads(result.metrics_path.read_text())
    predictions = pd.read_parquet(result.predictions_path)
    assert result.directory == layout.evaluations_root(settings) / "tiny@v1" / settings.golden.version
    # 12 originals + 5 families x 4 subset rows
    assert len(predictions) == 12 + 5 * 4
    assert set(predictions["variant"]) == {"original", "paraphrase", "casing", "whitespace_punctuation", "typos", "label_order"}
    assert (predictions["model_digest"] == version.digest).all()
    assert (predictions["golden_version"] == settings.golden.version).all()
    assert metrics["n_examples"] == 12
    assert metrics["task_hash"] == settings.section_hash("task")
    assert set(metrics["per_stratum"]) == {"product=app", "product=web"}
    assert set(metrics["robustness"]["families"]) == set(predictions["variant"]) - {"original"}
    original = predictions[predictions["variant"] == "original"]
    # Every answer is classified exactly one way: correct, outside the label set, empty or errored.
    outside = original["prediction"].ne("") & ~original["prediction"].isin(LABELS)
    assert (original["hallucinated"] == outside).all()
    assert metrics["hallucination_rate"] == pytest.approx(outside.mean())
    assert metrics["invalid_rate"] == pytest.approx((original["prediction"] == "").mean())
    assert metrics["accuracy"] == pytest.approx(original["correct"].mean())
    assert metrics["generated_examples"] == 32 and metrics["cached_examples"] == 0


def test_second_run_is_served_from_the_cache(setup):
    settings, version = setup
    first = evaluate_model(settings, version, show_progress=False)
    second = evaluate_model(settings, version, show_progress=False)
    assert second.metrics["cached_examples"] == 32 and second.metrics["generated_examples"] == 0
    pd.testing.assert_frame_equal(first.predictions, second.predictions)


def test_cli_evaluate_prints_the_headline_numbers(setup, capsys):
    from slm_assets.cli import main

    settings, version = setup
    rc = main(["--config", str(settings.config_path), "evaluate", version.key, "--no-robustness",
               "--max-examples", "4", "--batch-size", "2"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "accuracy" in out and "n_examples                         4" in out
    metrics = json.loads((layout.evaluations_root(settings) / version.key / settings.golden.version / "metrics.json").read_text())
    assert metrics["n_examples"] == 4 and metrics["robustness"]["families"] == {}
    assert main(["--config", str(settings.config_path), "evaluate", "tiny@missing"]) == 2
