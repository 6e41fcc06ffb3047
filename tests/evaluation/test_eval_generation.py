"""Batched greedy generation: agreement with ``generate``, the shared prefix, stop sequences,
batch-size independence, per-example errors, normalisation."""

import pytest
import torch

from slm_assets.config import TaskConfig
from slm_assets.core.inference.generation import (
    clean_output,
    cut_at_stop,
    generate_batched,
    match_label,
    shared_prefix_length,
)
from slm_assets.core.models.loading import load_model
from slm_assets.core.evaluation.prompts import build_prompt
from tests.evaluation.helpers import LABELS, golden_rows


@pytest.fixture(scope="module")
def loaded(lively_model_dir):
    return load_model(lively_model_dir, device="cpu")


@pytest.fixture(scope="module")
def prompts(loaded):
    return [build_prompt(loaded.tokenizer, TaskConfig(), LABELS, t) for t in golden_rows(10)["input"]]


def reference_greedy(loaded, prompt: str, max_new_tokens: int) -> list[int]:
    """Transformers' own ``generate``, one prompt at a time: what our decoder must reproduce."""
    ids = torch.tensor([loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        out = loaded.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                    min_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=loaded.tokenizer.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


@pytest.mark.parametrize("share_prefix", [True, False])
def test_answers_equal_transformers_generate(loaded, prompts, share_prefix):
    loaded.model.generation_config.eos_token_id = None  # run full length, so every token is compared
    eos = loaded.tokenizer.eos_token_id
    loaded.tokenizer.eos_token_id = None
    try:
        ours = generate_batched(loaded, prompts, 6, [], batch_size=4, share_prefix=share_prefix, show_progress=False)
        expected = [reference_greedy(loaded, p, 6) for p in prompts]
    finally:
        loaded.tokenizer.eos_token_id = eos
    assert [g.text for g in ours] == [loaded.tokenizer.decode(t, skip_special_tokens=True) for t in expected]
    assert all(g.output_tokens == 6 for g in ours)


def test_shared_prefix_leaves_each_prompt_a_token():
    assert shared_prefix_length([[1, 2, 3, 4], [1, 2, 3, 5, 6], [1, 2, 3, 4, 9]]) == 3
    assert shared_prefix_length([[1, 2], [1, 2, 3]]) == 1  # the shorter prompt keeps its last token
    assert shared_prefix_length([[7, 1], [8, 1]]) == 0
    assert shared_prefix_length([[5, 6, 7]]) == 2


def test_prompts_with_a_long_common_head_share_it(loaded, prompts):
    encoded = loaded.tokenizer(prompts, add_special_tokens=False)["input_ids"]
    assert shared_prefix_length(encoded) > 0.5 * min(len(t) for t in encoded), "instruction + labels are shared"
    shared = generate_batched(loaded, prompts, 6, ["\n"], batch_size=3, show_progress=False)
    whole = generate_batched(loaded, prompts, 6, ["\n"], batch_size=3, share_prefix=False, show_progress=False)
    assert shared == whole


def test_each_group_gets_its_own_head(loaded, prompts, monkeypatch):
    from slm_assets.core.inference import generation

    other = TaskConfig(instruction="Name the single best label for the message below.")
    texts = golden_rows(10)["input"].tolist()
    mixed = prompts[:5] + [build_prompt(loaded.tokenizer, other, LABELS, t) for t in texts[:5]]
    groups = ["original"] * 5 + ["paraphrase"] * 5
    heads = []
    real_prefill = generation.prefill_prefix
    monkeypatch.setattr(generation, "prefill_prefix",
                        lambda ld, tokens: heads.append(len(tokens)) or real_prefill(ld, tokens))
    grouped = generate_batched(loaded, mixed, 5, [], batch_size=4, groups=groups, show_progress=False)
    shared_by_all = shared_prefix_length(loaded.tokenizer(mixed, add_special_tokens=False)["input_ids"])
    assert len(heads) == 2 and min(heads) > shared_by_all, "each group shares more than the chat header"
    assert grouped == generate_batched(loaded, mixed, 5, [], batch_size=4, share_prefix=False, show_progress=False)
    with pytest.raises(ValueError, match="groups has 2 keys for 10 prompts"):
        generate_batched(loaded, mixed, 5, [], batch_size=4, groups=["a", "b"], show_progress=False)


def test_length_sorted_batches_match_batch_size_one(loaded, prompts):
    one = generate_batched(loaded, prompts, 6, [], batch_size=1, show_progress=False)
    four = generate_batched(loaded, prompts, 6, [], batch_size=4, show_progress=False)
    assert [g.text for g in four] == [g.text for g in one]
    assert [g.output_tokens for g in four] == [g.output_tokens for g in one]
    assert len({g.text for g in one}) > 1, "the tiny model should answer differently per prompt"


def test_stop_sequence_cuts_output_and_stops_early(loaded, prompts):
    free = generate_batched(loaded, prompts[:4], 8, [], batch_size=4, show_progress=False)
    target = next(g for g in free if len(g.text) > 3)
    index = free.index(target)
    stop = target.text[1:3]  # a string this row is known to produce after its first character
    stopped = generate_batched(loaded, prompts[:4], 8, [stop], batch_size=4, show_progress=False)[index]
    assert stopped.text == target.text[: target.text.find(stop)]
    assert stop not in stopped.text
    assert stopped.output_tokens <= target.output_tokens


def test_on_batch_and_progress_see_every_example(loaded, prompts):
    seen, reports = [], []
    generate_batched(loaded, prompts, 2, ["\n"], batch_size=3, show_progress=False,
                     on_batch=lambda idx, gens: seen.extend(idx), progress=lambda d, t, s: reports.append((d, t)))
    assert sorted(seen) == list(range(len(prompts)))
    assert reports[-1] == (len(prompts), len(prompts)) and len(reports) == 4


def test_failing_example_is_recorded_and_the_rest_goes_on(loaded, prompts):
    bad_length = len(loaded.tokenizer(prompts[0], add_special_tokens=False)["input_ids"])
    real_forward = loaded.model.forward

    def flaky_forward(input_ids, attention_mask, *args, **kwargs):
        # Any batch prefilling the poisoned prompt fails, as an out-of-memory would.
        if input_ids.shape[1] > 1 and (attention_mask.sum(dim=1) == bad_length).any():
            raise RuntimeError("simulated failure")
        return real_forward(input_ids, attention_mask, *args, **kwargs)

    loaded.model.forward = flaky_forward
    try:
        out = generate_batched(loaded, prompts, 3, ["\n"], batch_size=4, show_progress=False)
    finally:
        del loaded.model.forward
    lengths = [len(loaded.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    for length, g in zip(lengths, out):
        if length == bad_length:
            assert g.error == "RuntimeError: simulated failure" and g.text == ""
        else:
            assert g.error is None
    assert any(g.error is None for g in out)


def test_output_normalisation():
    assert cut_at_stop("refund\nmore", ["\n"]) == "refund"
    assert cut_at_stop("abc", ["", "z"]) == "abc"
    assert clean_output('  \n "Refund."  \nsecond line') == "Refund"
    assert match_label("Refund.", LABELS) == "refund"
    assert match_label("'LOGIN'", LABELS) == "login"
    assert match_label("card_arrival", ["card arrival"]) == "card arrival"
    assert match_label("refunds please", LABELS) is None
    assert match_label("", LABELS) is None
