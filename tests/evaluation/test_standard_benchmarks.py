"""Standard benchmarks: an lm-eval model over the engine layer, local tasks offline, forgetting check."""

import json

import numpy as np
import pandas as pd
import pytest

from slm_assets.config import StandardBenchmarksConfig
from slm_assets.core import layout
from slm_assets.core.comparison.forgetting import forgetting_rows
from slm_assets.core.evaluation.lm_eval_adapter import score_continuations
from slm_assets.core.evaluation.standard_benchmarks import load_examples, run_standard_benchmarks
from slm_assets.core.inference.registry import load_engine

pytest.importorskip("lm_eval")

MC_TASK = """task: tiny_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""
GEN_TASK = """task: tiny_gen
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "Request: {{{{question}}}}\\nLabel:"
doc_to_target: "{{{{label}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 4
  do_sample: false
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""


def write_tasks(folder):
    folder.mkdir(parents=True)
    words = "refund login order card invoice password".split()
    with (folder / "mc.jsonl").open("w") as f:
        for i in range(6):
            f.write(json.dumps({"question": f"which word is {words[i]}", "choices": [words[i], words[i - 1]],
                                "answer": 0}) + "\n")
    with (folder / "gen.jsonl").open("w") as f:
        for i in range(6):
            f.write(json.dumps({"question": f"my {words[i]} please", "label": words[i]}) + "\n")
    (folder / "tiny_mc.yaml").write_text(MC_TASK.format(data=folder / "mc.jsonl"))
    (folder / "tiny_gen.yaml").write_text(GEN_TASK.format(data=folder / "gen.jsonl"))
    return folder


@pytest.fixture
def engine(make_settings, tiny_model_dir, one_torch_thread):
    from slm_assets.core.models.registry import get_registry
    from slm_assets.core.models.versions import ModelCard

    version = get_registry(make_settings()).register(tiny_model_dir, "tiny", "v1", ModelCard(task="t"))
    with load_engine(version, defaults={"device": "cpu"}) as engine:  # the transformers engine
        yield engine


def test_loglikelihood_is_the_sum_of_continuation_token_logprobs(engine):
    import torch

    tok = engine.tokenizer
    context, continuation = "my order is", " late please"
    [(total, greedy)] = score_continuations(engine.model, tok, [(context, continuation)], batch_size=1)
    ids = tok(context + continuation, add_special_tokens=False)["input_ids"]
    n_ctx = len(tok(context, add_special_tokens=False)["input_ids"])
    with torch.inference_mode():
        logprobs = torch.log_softmax(engine.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    expected = sum(float(logprobs[i - 1, ids[i]]) for i in range(n_ctx, len(ids)))
    assert total == pytest.approx(expected, abs=1e-4)
    # Batched with a longer neighbour (right padding) gives the same figure.
    batched = score_continuations(engine.model, tok, [(context, continuation), ("a much longer context here", " x")], 2)
    assert batched[0][0] == pytest.approx(total, abs=1e-4) and isinstance(greedy, bool)


def test_local_tasks_run_offline_through_the_engine(make_settings, tmp_path, engine):
    folder = write_tasks(tmp_path / "tasks")
    settings = make_settings(benchmarks={"tasks": ["tiny_mc", "tiny_gen"], "include_path": str(folder), "batch_size": 4})
    results = run_standard_benchmarks(settings, engine, "tiny@v1", digest="d")
    assert results["tasks"]["tiny_mc"]["metric"] == "acc" and results["tasks"]["tiny_mc"]["n"] == 6
    assert results["tasks"]["tiny_gen"]["metric"] == "exact_match" and results["tasks"]["tiny_gen"]["n"] == 6
    stored = json.loads((layout.benchmarks_dir(settings, "tiny@v1") / "results.json").read_text())
    assert stored["tasks"].keys() == {"tiny_mc", "tiny_gen"}
    examples = load_examples(settings, "tiny@v1")
    assert sorted(examples.loc[examples["task"] == "tiny_mc", "doc_id"]) == list(range(6))
    bad = make_settings(benchmarks={"tasks": ["no_such_task"], "include_path": str(folder)})
    with pytest.raises(ValueError, match="no_such_task"):
        run_standard_benchmarks(bad, engine, "tiny@v1")


def _examples(correct):
    return pd.DataFrame({"task": "t", "doc_id": range(len(correct)), "metric": "acc", "value": np.asarray(correct, float)})


def test_a_significant_drop_on_a_task_is_a_regression():
    cfg = StandardBenchmarksConfig(tasks=["t"], default_max_drop=0.05)
    base = _examples([1] * 40 + [0] * 10)
    [same] = forgetting_rows(base, base, cfg)
    assert same["status"] == "pass" and same["delta"] == 0 and same["p_value"] == 1.0
    [drop] = forgetting_rows(base, _examples([1] * 20 + [0] * 30), cfg)
    assert drop["status"] == "regression" and drop["delta"] == pytest.approx(-0.4)
    assert drop["flipped_right_to_wrong"] == 20 and drop["p_value"] < 1e-5
    [small] = forgetting_rows(base, _examples([1] * 38 + [0] * 12), cfg)
    assert small["status"] == "pass"  # 2 flips: neither beyond the threshold nor significant
    [missing] = forgetting_rows(base, None, cfg)
    assert missing["status"] == "not_measured" and "candidate" in missing["note"]


def test_a_forgetting_candidate_fails_the_blocking_check(make_settings, tmp_path, tiny_model_dir, one_torch_thread):
    import dagster as dg

    from slm_assets.core.models.registry import get_registry
    from slm_assets.core.models.versions import ModelCard
    from slm_assets.core.reporting.history import read_history
    from slm_assets.defs.evaluation.benchmarks import standard_benchmarks
    from slm_assets.defs.partitions import model_versions
    from slm_assets.defs.resources import ModelEngines, SlmSettings
    from slm_assets.testing import build_tiny_model

    folder = write_tasks(tmp_path / "tasks")
    settings = make_settings(benchmarks={"tasks": ["tiny_mc"], "include_path": str(folder), "default_max_drop": 0.1},
                             evaluation={"device": "cpu"})
    registry = get_registry(settings)
    base = registry.register(tiny_model_dir, "tiny", "v1", ModelCard(task="t"))
    other = build_tiny_model(tmp_path / "other", seed=7, initializer_range=0.3)
    cand = registry.register(other, "tiny", "v2", ModelCard(task="t"))
    registry.set_alias("tiny", "production", "v1")
    # The answer key is what the baseline prefers: it scores 1.0, the other weights about half.
    base_engine = load_engine(base, defaults={"device": "cpu"})
    docs = [{"question": f"which one {i} {w}", "choices": [f" {w}", f" {v}"]}
            for i, (w, v) in enumerate(zip("refund login order card invoice password".split() * 5,
                                           "help app bug plan cancel account".split() * 5, strict=True))]
    with (folder / "mc.jsonl").open("w") as f:
        for doc in docs:
            scores = score_continuations(base_engine.model, base_engine.tokenizer,
                                         [(f"Question: {doc['question']}\nAnswer:", c) for c in doc["choices"]], 2)
            f.write(json.dumps({**doc, "choices": [c.strip() for c in doc["choices"]],
                                "answer": int(scores[1][0] > scores[0][0])}) + "\n")

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(model_versions.name, [base.key, cand.key])
    result = dg.materialize([standard_benchmarks], partition_key=cand.key, instance=instance, raise_on_error=False,
                            resources={"slm": SlmSettings(config_path=str(settings.config_path)), "engines": ModelEngines()})
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "no_forgetting" and not check.passed, check.description
    [row] = check.metadata["rows"].value
    assert row["baseline"] == 1.0 and row["candidate"] < 0.9 and row["status"] == "regression"
    partitions = {e.event_specific_data.materialization.partition for e in result.get_asset_materialization_events()}
    assert partitions == {base.key, cand.key}  # the baseline's run is its own partition's materialization
    rows = read_history(settings).select(kind="benchmark")
    assert {r["model"] for r in rows} == {base.key, cand.key}
