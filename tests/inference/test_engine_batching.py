"""The transformers engine's batching: the shared prefix, groups, stop sequences, batch-size
independence, per-prompt errors, progress."""

import pytest

from slm_assets.config import TaskConfig
from slm_assets.core.evaluation.prompts import build_prompt
from slm_assets.core.inference.transformers.decoder import shared_prefix_length
from tests.evaluation.helpers import LABELS, golden_rows


@pytest.fixture(scope="module")
def prompts(engine):
    return [build_prompt(engine, TaskConfig(), LABELS, t) for t in golden_rows(10)["input"]]


def run(engine, prompts, max_new_tokens, stop, batch_size, **kwargs):
    return engine.generate_until(prompts, max_new_tokens=max_new_tokens, stop=stop, batch_size=batch_size, **kwargs)


def test_shared_prefix_leaves_each_prompt_a_token():
    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5, 6], [1, 2, 3, 4, 9]]) == 3
    assert shared_prefix_length([[1, 2], [1, 2, 3]]) == 1  # the shorter prompt keeps its last token
    assert shared_prefix_length([[7, 1], [8, 1]]) == 0
    assert shared_prefix_length([[5, 6, 7]]) == 2


def test_prompts_with_a_long_common_head_share_it(engine, prompts):
    encoded = engine.tokenizer(prompts, add_special_tokens=False)["input_ids"]
    assert shared_prefix_length(encoded) > 0.5 * min(len(t) for t in encoded), "instruction + labels are shared"
    assert run(engine, prompts, 6, ["\n"], 3) == run(engine, prompts, 6, ["\n"], 3, share_prefix=False)


def test_each_group_gets_its_own_head(engine, prompts, monkeypatch):
    other = TaskConfig(instruction="Name the single best label for the message below.")
    texts = golden_rows(10)["input"].tolist()
    mixed = prompts[:5] + [build_prompt(engine, other, LABELS, t) for t in texts[:5]]
    groups = ["original"] * 5 + ["paraphrase"] * 5
    heads = []
    real_prefill = engine.decoder.prefill_prefix
    monkeypatch.setattr(engine.decoder, "prefill_prefix", lambda tokens: heads.append(len(tokens)) or real_prefill(tokens))
    grouped = run(engine, mixed, 5, [], 4, groups=groups)
    shared_by_all = shared_prefix_length(engine.tokenizer(mixed, add_special_tokens=False)["input_ids"])
    assert len(heads) == 2 and min(heads) > shared_by_all, "each group shares more than the chat header"
    assert grouped == run(engine, mixed, 5, [], 4, share_prefix=False)
    with pytest.raises(ValueError, match="groups has 2 keys for 10 prompts"):
        run(engine, mixed, 5, [], 4, groups=["a", "b"])


def test_length_sorted_batches_match_batch_size_one(engine, prompts):
    one = run(engine, prompts, 6, [], 1)
    four = run(engine, prompts, 6, [], 4)
    assert [g.text for g in four] == [g.text for g in one]
    assert [g.output_tokens for g in four] == [g.output_tokens for g in one]
    assert len({g.text for g in one}) > 1, "the tiny model should answer differently per prompt"


def test_stop_sequence_cuts_output_and_stops_early(engine, prompts):
    free = run(engine, prompts[:4], 8, [], 4)
    target = next(g for g in free if len(g.text) > 3)
    index = free.index(target)
    stop = target.text[1:3]  # a string this row is known to produce after its first character
    stopped = run(engine, prompts[:4], 8, [stop], 4)[index]
    assert stopped.text == target.text[: target.text.find(stop)]
    assert stop not in stopped.text
    assert stopped.output_tokens <= target.output_tokens


def test_on_batch_and_progress_see_every_example(engine, prompts):
    seen, reports = [], []
    run(engine, prompts, 2, ["\n"], 3, on_batch=lambda idx, gens: seen.extend(idx),
        progress=lambda d, t, s: reports.append((d, t)))
    assert sorted(seen) == list(range(len(prompts)))
    assert reports[-1] == (len(prompts), len(prompts)) and len(reports) == 4


def test_failing_example_is_recorded_and_the_rest_goes_on(engine, prompts, monkeypatch):
    bad_length = len(engine.tokenizer(prompts[0], add_special_tokens=False)["input_ids"])
    real_forward = engine.model.forward

    def flaky_forward(**kwargs):
        # Any batch prefilling the poisoned prompt fails, as an out-of-memory would.
        if kwargs["input_ids"].shape[1] > 1 and (kwargs["attention_mask"].sum(dim=1) == bad_length).any():
            raise RuntimeError("simulated failure")
        return real_forward(**kwargs)

    monkeypatch.setattr(engine.model, "forward", flaky_forward)
    out = run(engine, prompts, 3, ["\n"], 4, share_prefix=False)
    lengths = [len(engine.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    for length, g in zip(lengths, out):
        if length == bad_length:
            assert g.error == "RuntimeError: simulated failure" and g.text == ""
        else:
            assert g.error is None
    assert any(g.error is None for g in out)


def test_bad_arguments_are_refused(engine, prompts):
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        run(engine, prompts, 3, [], 0)
    with pytest.raises(ValueError, match="encodes to no tokens"):
        run(engine, ["", *prompts], 3, [], 2)
