"""The real SmolLM2-135M-Instruct evaluated end to end on a handful of examples (slow)."""

import hashlib

import pytest

from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.golden.store import write_golden
from tests.evaluation.helpers import golden_rows

pytestmark = pytest.mark.slow

LABELS = ["billing_refund", "login_problem", "order_status"]
REQUESTS = [
    "I was charged twice for my subscription, please refund one payment",
    "I cannot log in, the app says my password is wrong",
    "Where is my order? It should have arrived on Monday",
    "Please refund the duplicate charge on my card",
]


def test_smollm2_evaluates_a_few_examples(make_settings):
    from slm_assets.core.models.base_model import BASE_REF, find_gguf, import_base_model
    from slm_assets.core.models.versions import RegistryError

    try:
        find_gguf()
    except RegistryError as exc:
        pytest.skip(str(exc))
    settings = make_settings(
        task={"labels": LABELS, "max_new_tokens": 6},
        evaluation={"batch_size": 4, "device": "cpu",
                    "robustness": {"families": ["casing", "label_order"], "subset_size": 2}},
    )
    test = golden_rows(len(REQUESTS), labels=LABELS)
    test["input"] = REQUESTS
    test["content_hash"] = [hashlib.sha256(t.encode()).hexdigest() for t in REQUESTS]
    write_golden(settings, {"train": golden_rows(6, offset=100, labels=LABELS),
                            "validation": golden_rows(2, offset=200, labels=LABELS), "test": test}, "slow-test")
    version = import_base_model(settings, progress=lambda m: None).version
    assert version.key == BASE_REF.key
    result = evaluate_model(settings, version, show_progress=False)
    predictions = result.predictions
    assert len(predictions) == 4 + 2 * 2
    assert predictions["error"].isna().all()
    assert (predictions["output_tokens"] > 0).all()
    assert predictions["raw_output"].str.len().sum() > 0, "SmolLM2 should say something"
    m = result.metrics
    assert m["n_examples"] == 4 and 0.0 <= m["accuracy"] <= 1.0
    assert m["accuracy"] + m["hallucination_rate"] + m["invalid_rate"] <= 1.0 + 1e-9
    assert result.metrics_path.exists() and result.predictions_path.exists()
