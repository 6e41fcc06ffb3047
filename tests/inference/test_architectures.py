"""Any causal LM: the engine's greedy answers equal transformers' own ``generate`` token for token,
for eight architectures, batched or not, with and without the shared prompt head."""

import pytest
import torch

from slm_assets.config import TaskConfig
from slm_assets.core.evaluation.prompts import build_prompt
from slm_assets.core.inference.base import EngineError
from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine
from slm_assets.testing import TINY_ARCHITECTURES
from tests.evaluation.helpers import LABELS, golden_rows

NEW_TOKENS = 4


def reference_greedy(engine, prompt: str) -> str:
    """``generate(do_sample=False)`` on one unpadded prompt: what the engine must reproduce."""
    ids = torch.tensor([engine.tokenizer(prompt, add_special_tokens=False)["input_ids"]])
    with torch.inference_mode():
        out = engine.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS,
                                    min_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None,
                                    pad_token_id=engine.tokenizer.pad_token_id)
    return engine.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


@pytest.mark.parametrize("architecture", TINY_ARCHITECTURES)
def test_answers_equal_transformers_generate(tiny_model_of, architecture):
    engine = TransformersEngine.load(tiny_model_of(architecture), TransformersConfig(device="cpu"))
    engine.decoder.eos_ids = frozenset()  # run full length, so every token is compared
    prompts = [build_prompt(engine, TaskConfig(), LABELS, t) for t in golden_rows(8)["input"]]
    expected = [reference_greedy(engine, p) for p in prompts]
    assert len(set(expected)) > 1, f"{architecture}: the tiny model should answer differently per prompt"
    for batch_size in (1, 8):
        for share in (True, False):
            ours = engine.generate_until(prompts, max_new_tokens=NEW_TOKENS, stop=[], batch_size=batch_size,
                                         share_prefix=share)
            assert [g.text for g in ours] == expected, f"{architecture} batch {batch_size} shared head {share}"
            assert all(g.output_tokens == NEW_TOKENS and g.error is None for g in ours)
    facts = engine.facts()
    assert facts.details["shared_prefix"] == "kv-cache copy", facts.details
    assert (facts.engine, facts.format, facts.precision, facts.device) == ("transformers", "safetensors", "float32", "cpu")
    assert facts.parameters > 0 and facts.weight_bytes == 4 * facts.parameters
    engine.close()


def test_a_cache_that_cannot_be_copied_falls_back_to_plain_batches(tiny_model_of, monkeypatch):
    engine = TransformersEngine.load(tiny_model_of("gpt2"), TransformersConfig(device="cpu"))
    prompts = [build_prompt(engine, TaskConfig(), LABELS, t) for t in golden_rows(4)["input"]]
    plain = engine.generate_until(prompts, max_new_tokens=3, stop=[], batch_size=4, share_prefix=False)

    def cannot_copy(cache, rows):
        raise NotImplementedError("no batch_repeat_interleave")

    monkeypatch.setattr(engine.decoder, "_repeat", cannot_copy)
    assert engine.generate_until(prompts, max_new_tokens=3, stop=[], batch_size=4) == plain
    assert engine.facts().details["shared_prefix"].startswith("off: the cache of GPT2LMHeadModel cannot be copied")


def test_fixed_length_generation_returns_n_tokens_per_row_with_step_stamps(engine):
    prompts = ["refund my order", "where is my invoice please", "login"]
    [run] = engine.generate_fixed(prompts, new_tokens=5, timed=True)
    assert run.output_tokens == 3 * 5
    assert len(run.token_ns) == 5 and list(run.token_ns) == sorted(run.token_ns)
    assert run.start_ns < run.token_ns[0] <= run.token_ns[-1] <= run.end_ns
    assert run.ttft_s > 0
    [untimed] = engine.generate_fixed(prompts[:1], new_tokens=2)
    assert untimed.output_tokens == 2 and untimed.token_ns == ()


def test_bfloat16_runs_on_cpu(tiny_model_of):
    with TransformersEngine.load(tiny_model_of("qwen2"), TransformersConfig(device="cpu", dtype="bfloat16")) as engine:
        [out] = engine.generate_until(["refund my order"], max_new_tokens=3, stop=[], batch_size=1)
        assert out.error is None and out.output_tokens >= 1
        facts = engine.facts()
        assert facts.precision == "bfloat16" and facts.weight_bytes == 2 * facts.parameters


def test_float16_on_cpu_and_unknown_options_are_clear_errors(tiny_model_of):
    with pytest.raises(EngineError, match="float16 needs a CUDA device"):
        TransformersEngine.load(tiny_model_of("llama"), TransformersConfig(device="cpu", dtype="float16"))
    with pytest.raises(ValueError, match="threads"):
        TransformersConfig(threads=2)
    with pytest.raises(ValueError, match="device"):
        TransformersConfig(device="tpu")
