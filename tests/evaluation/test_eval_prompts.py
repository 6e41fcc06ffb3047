"""Prompts and robustness variants: deterministic per seed, and each one really changes the prompt."""

import pytest
from transformers import AutoTokenizer

from slm_assets.config import TaskConfig
from slm_assets.core.evaluation.prompts import build_prompt, effective_task
from slm_assets.core.evaluation.robustness import FAMILIES, PromptParts, perturb, stratified_subset, variant_rng
from tests.evaluation.helpers import LABELS, golden_rows

TEXT = "My card was charged twice for order 1234, please refund me."


@pytest.fixture(scope="module")
def tokenizer(lively_model_dir):
    return AutoTokenizer.from_pretrained(lively_model_dir)


def test_prompt_fills_template_inside_chat_template(tokenizer):
    prompt = build_prompt(tokenizer, TaskConfig(), LABELS, TEXT)
    assert prompt.startswith("<|im_start|>user\n") and prompt.endswith("<|im_start|>assistant\n")
    assert "Allowed labels: refund, login, delivery" in prompt and TEXT in prompt


def test_no_chat_template_when_disabled_and_card_template_wins(tokenizer):
    task = effective_task(TaskConfig(use_chat_template=False), "Q: {input}\nLabels: {labels}\nA:")
    assert build_prompt(tokenizer, task, LABELS, "hello") == "Q: hello\nLabels: refund, login, delivery\nA:"
    assert effective_task(TaskConfig(), None) == TaskConfig()


def test_long_input_keeps_its_last_tokens(tokenizer):
    task = TaskConfig(use_chat_template=False, prompt_template="{input}", max_input_tokens=5)
    text = "first words here then " + "refund " * 20 + "final"
    prompt = build_prompt(tokenizer, task, None, text)
    assert len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) <= 5
    assert prompt.endswith("final") and "first" not in prompt


def test_bad_template_names_the_problem(tokenizer):
    with pytest.raises(ValueError, match="placeholders allowed"):
        build_prompt(tokenizer, TaskConfig(prompt_template="{question}"), LABELS, TEXT)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_deterministic_and_changes_the_prompt(tokenizer, family):
    task = TaskConfig()
    original = build_prompt(tokenizer, task, LABELS, TEXT)
    first = build_prompt(tokenizer, task, LABELS, TEXT, family, variant_rng(0, "ex-1", family), 0.05)
    again = build_prompt(tokenizer, task, LABELS, TEXT, family, variant_rng(0, "ex-1", family), 0.05)
    assert first == again
    assert first != original
    others = {build_prompt(tokenizer, task, LABELS, TEXT, family, variant_rng(seed, "ex-1", family)) for seed in range(8)}
    assert len(others) > 1, "different seeds should give different variants"


def test_family_specifics():
    parts = PromptParts("Classify.", tuple(LABELS), TEXT)
    rng = lambda f: variant_rng(3, "x", f)  # noqa: E731
    assert sorted(perturb("label_order", parts, rng("label_order")).labels) == sorted(LABELS)
    assert perturb("casing", parts, rng("casing")).input.lower() == TEXT.lower()
    typo = perturb("typos", parts, rng("typos"), typo_rate=0.2).input
    changed = sum(a != b for a, b in zip(typo, TEXT)) + abs(len(typo) - len(TEXT))
    assert changed >= 3  # about 20% of ~45 letters touched, not one
    assert perturb("paraphrase", parts, rng("paraphrase")).input == TEXT
    with pytest.raises(ValueError, match="unknown robustness family"):
        perturb("emoji", parts, rng("emoji"))


def test_stratified_subset_keeps_every_stratum_and_is_deterministic():
    frame = golden_rows(40)
    frame.loc[:2, "stratum"] = "product=rare"
    subset = stratified_subset(frame, 10, seed=1)
    assert len(subset) == 10
    assert set(subset["stratum"]) == set(frame["stratum"])
    assert subset.equals(stratified_subset(frame, 10, seed=1))
    assert stratified_subset(frame, 100, seed=1).equals(frame)
