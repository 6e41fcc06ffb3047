"""Batched greedy generation: stop sequences, batch-size independence, per-example errors, normalisation."""

import pytest

from slm_assets.config import TaskConfig
from slm_assets.core.generation import clean_output, cut_at_stop, generate_batched, match_label
from slm_assets.core.loading import load_model
from slm_assets.core.prompts import build_prompt
from tests.evaluation.helpers import LABELS, golden_rows


@pytest.fixture(scope="module")
def loaded(lively_model_dir):
    return load_model(lively_model_dir, device="cpu")


@pytest.fixture(scope="module")
def prompts(loaded):
    return [build_prompt(loaded.tokenizer, TaskConfig(), LABELS, t) for t in golden_rows(10)["input"]]


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
    real_generate = loaded.model.generate

    def flaky_generate(input_ids, **kwargs):
        # Any batch holding the poisoned prompt fails, as an out-of-memory would.
        if (kwargs["attention_mask"].sum(dim=1) == bad_length).any():
            raise RuntimeError("simulated failure")
        return real_generate(input_ids=input_ids, **kwargs)

    loaded.model.generate = flaky_generate
    try:
        out = generate_batched(loaded, prompts, 3, ["\n"], batch_size=4, show_progress=False)
    finally:
        del loaded.model.generate
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
