"""Generation task type and the contamination block."""

import json

import pandas as pd
import pytest

from slm_assets.core.evaluation.contamination import ContaminationError, check_contamination
from slm_assets.core.evaluation.run import evaluate_model
from slm_assets.core.models.versions import TrainingDataRef
from tests.evaluation.helpers import eval_sections, golden_rows, register, write_test_golden
from slm_assets.core import layout


def test_generation_task_reports_token_f1_and_grounded_hallucination(make_settings, lively_model_dir):
    sections = eval_sections()
    sections["task"] = {"type": "generation", "prompt_template": "{input}\nAnswer:", "max_new_tokens": 4,
                        "hallucination_rule": "input_tokens"}
    sections["evaluation"]["robustness"] = {"families": ["casing", "typos"], "subset_size": 3}
    settings = make_settings(**sections)
    write_test_golden(settings, test_rows=6)
    result = evaluate_model(settings, register(settings, lively_model_dir), show_progress=False)
    m = result.metrics
    assert m["task_type"] == "generation" and m["macro_f1"] is None
    assert 0.0 <= m["token_f1"] <= 1.0 and m["exact_match"] == m["accuracy"]
    original = result.predictions[result.predictions["variant"] == "original"]
    assert m["hallucination_rate"] == pytest.approx(original["hallucinated"].mean())
    assert set(m["robustness"]["families"]) == {"casing", "typos"}
    assert len(result.predictions) == 6 + 2 * 3


def test_generation_without_grounding_rule_reports_no_hallucination(make_settings, lively_model_dir):
    sections = eval_sections()
    sections["task"] = {"type": "generation", "max_new_tokens": 2}
    sections["evaluation"]["robustness"] = {"enabled": False}
    settings = make_settings(**sections)
    write_test_golden(settings, test_rows=3)
    result = evaluate_model(settings, register(settings, lively_model_dir), show_progress=False)
    assert result.metrics["hallucination_rate"] is None
    assert json.loads(result.metrics_path.read_text())["robustness"]["families"] == {}


def test_training_split_overlapping_golden_test_blocks_evaluation(make_settings, lively_model_dir):
    settings = make_settings(**eval_sections())
    leaked = pd.concat([golden_rows(20, offset=1000), golden_rows(2, offset=3)])  # test rows ex-3, ex-4
    write_test_golden(settings, test_rows=8, train=leaked.reset_index(drop=True))
    version = register(settings, lively_model_dir,
                       training_data=TrainingDataRef(golden_version=settings.golden.version, split="train"))
    report = check_contamination(settings, version.card)
    assert report.exact_overlap == 2 and report.near_duplicate_overlap >= 2
    assert {e["test_example_id"] for e in report.examples if e["kind"] == "exact"} == {"ex-3", "ex-4"}
    with pytest.raises(ContaminationError, match="2 exact"):
        evaluate_model(settings, version, show_progress=False)
    assert not layout.evaluations_root(settings).exists()


def test_training_file_checked_exactly_and_near_duplicates(make_settings, lively_model_dir, tmp_path):
    settings = make_settings(**eval_sections())
    write_test_golden(settings, test_rows=8)
    test_text = golden_rows(8)["input"][5]
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps({"input": "a completely unrelated sentence about weather"}) + "\n")
    near = tmp_path / "near.csv"
    pd.DataFrame({"text": ["unrelated", "  " + test_text.upper() + "!"]}).to_csv(near, index=False)
    ok = register(settings, lively_model_dir, training_data=TrainingDataRef(path=str(clean)))
    report = check_contamination(settings, ok.card)
    assert not report.contaminated and report.training_rows == 1
    bad = register(settings, lively_model_dir, version="v2", training_data=TrainingDataRef(path=str(near)))
    report = check_contamination(settings, bad.card)
    assert report.exact_overlap == 0 and report.near_duplicate_overlap == 1  # same words, other case/spacing
    assert report.contaminated
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text(json.dumps({"prompt": "x"}) + "\n")
    worse = register(settings, lively_model_dir, version="v3", training_data=TrainingDataRef(path=str(bad_file)))
    with pytest.raises(ContaminationError, match="bad.jsonl: training data has no input column"):
        check_contamination(settings, worse.card)
