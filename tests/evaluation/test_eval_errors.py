"""A run with more failed prompts than ``evaluation.max_error_rate`` fails, quoting the first error;
below it, failed prompts are counted as errors in the metrics."""

import pytest

from slm_assets.core.evaluation.run import EvaluationError, evaluate_model
from slm_assets.core.inference.transformers import TransformersEngine
from tests.evaluation.helpers import eval_sections, register, write_test_golden
from slm_assets.core import layout


def _failing(monkeypatch, every: int):
    """Every ``every``-th prompt the engine answers fails, as a broken architecture would."""
    real = TransformersEngine._batch
    seen = {"n": 0}

    def flaky(self, token_lists, *args):
        out = real(self, token_lists, *args)
        if len(token_lists) > 1:
            raise RuntimeError("batch failed")  # the engine then retries prompt by prompt
        seen["n"] += 1
        if seen["n"] % every == 0:
            raise AttributeError("'DynamicCache' object has no attribute 'view'")
        return out

    monkeypatch.setattr(TransformersEngine, "_batch", flaky)


def test_too_many_failed_prompts_fail_the_run(make_settings, lively_model_dir, monkeypatch):
    settings = make_settings(**eval_sections(robustness={"enabled": False}))
    write_test_golden(settings, test_rows=10)
    version = register(settings, lively_model_dir)
    _failing(monkeypatch, every=2)
    with pytest.raises(EvaluationError) as raised:
        evaluate_model(settings, version, show_progress=False)
    message = str(raised.value)
    assert "tiny@v1: 5 of 10 prompts failed" in message and "max_error_rate 5.0%" in message
    assert "AttributeError: 'DynamicCache' object has no attribute 'view'" in message
    assert not (layout.evaluations_root(settings) / version.key).exists(), "no metrics over errors"


def test_failures_within_the_rate_are_reported_as_errors(make_settings, lively_model_dir, monkeypatch):
    settings = make_settings(**eval_sections(robustness={"enabled": False}, max_error_rate=0.2))
    write_test_golden(settings, test_rows=10)
    _failing(monkeypatch, every=10)
    result = evaluate_model(settings, register(settings, lively_model_dir), show_progress=False)
    assert result.metrics["error_rate"] == pytest.approx(0.1)
    assert result.predictions["error"].notna().sum() == 1


def test_the_rate_itself_is_allowed(make_settings):
    from types import SimpleNamespace

    import pandas as pd

    from slm_assets.core.evaluation.run import check_error_rate
    from slm_assets.core.inference.base import Generation

    settings = make_settings()  # max_error_rate 0.05
    rows = pd.DataFrame({"example_id": [f"ex-{i}" for i in range(20)], "variant": ["original"] * 20})
    version = SimpleNamespace(key="tiny@v1")
    outputs = [Generation("", 0, error="ValueError: bad")] + [Generation("refund", 1)] * 19
    check_error_rate(settings, version, rows, outputs)  # 1 of 20 = 5 %: not more than the rate
    outputs[7] = Generation("", 0, error="ValueError: worse")
    with pytest.raises(EvaluationError, match=r"2 of 20 prompts failed .*example ex-0 \(original\): ValueError: bad"):
        check_error_rate(settings, version, rows, outputs)
