"""The llama.cpp engine on a tiny GGUF it is given the same weights as a transformers model."""

from types import SimpleNamespace

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make install builds it: extra llama-cpp)")

from slm_assets.core.inference.base import BatchTooLargeError, EngineError  # noqa: E402
from slm_assets.core.inference.registry import load_engine  # noqa: E402
from slm_assets.core.models.versions import ModelCard  # noqa: E402
from slm_assets.core.profiling.throughput import measure_throughput  # noqa: E402

INPUTS = ["refund my order please", "where is my invoice", "login broken help", "cancel plan",
          "my card payment error", "shipping address change", "upgrade subscription", "bug in the app now"]


def version_of(folder, **options):
    card = ModelCard(task="t", engine="llama_cpp", engine_options={"n_threads": 1, **options})
    return SimpleNamespace(key="tiny@gguf", path=folder, card=card)


@pytest.fixture(scope="module")
def engine(tiny_gguf):
    with load_engine(version_of(tiny_gguf.parent)) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def prompts(engine):
    # A shared head as in evaluation (instruction + labels), then each input.
    return [engine.apply_chat_template([{"role": "user", "content": f"classify: billing, login. {text}"}])
            for text in INPUTS]


def test_chat_template_comes_from_the_gguf(engine):
    assert engine.has_chat_template
    text = engine.apply_chat_template([{"role": "user", "content": "hi"}])
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_answers_are_deterministic_and_equal_across_batch_sizes_and_head_sharing(engine, prompts):
    reference = engine.generate_until(prompts, max_new_tokens=8, stop=[], batch_size=1, share_prefix=False)
    assert all(g.error is None and g.output_tokens > 0 for g in reference)
    for batch_size in (1, 3, 8):
        for share in (True, False):
            again = engine.generate_until(prompts, max_new_tokens=8, stop=[], batch_size=batch_size,
                                          share_prefix=share)
            assert again == reference, (batch_size, share)


def test_sequences_decoded_together_are_deterministic(tiny_gguf, prompts, engine):
    """``batch_sequences``: one llama_decode per step for the whole batch (float32 here, so the
    answers even equal the one-at-a-time ones; a quantized model's may differ, see the option)."""
    with load_engine(version_of(tiny_gguf.parent, batch_sequences=True)) as together:
        first = together.generate_until(prompts, max_new_tokens=8, stop=[], batch_size=8)
        assert together.generate_until(prompts, max_new_tokens=8, stop=[], batch_size=8) == first
        assert together.facts().details["evaluation_batches"] == "decoded together"
    assert first == engine.generate_until(prompts, max_new_tokens=8, stop=[], batch_size=8)


def test_tokens_equal_transformers_generate_on_the_same_weights(engine, prompts, tiny_gguf):
    """Token for token until a near tie: llama.cpp keeps keys and values in float16, so where
    transformers' two best logits lie within 0.01 either may win."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = tiny_gguf.parent.parent / "hf"
    tokenizer, model = AutoTokenizer.from_pretrained(hf), AutoModelForCausalLM.from_pretrained(hf)
    compared = 0
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
        with torch.inference_mode():
            out = model.generate(input_ids=ids, max_new_tokens=12, do_sample=False, output_scores=True,
                                 return_dict_in_generate=True)
        theirs = out.sequences[0, ids.shape[1]:].tolist()
        ours: list[int] = []
        engine.decoder.set_head([])
        engine.decoder.run([engine._tokens(prompt)], 12, lambda step, tokens: ours.append(tokens[0]) or set())
        assert engine._tokens(prompt) == ids[0].tolist()
        for step, scores in enumerate(out.scores):
            top = scores[0].topk(2).values
            if top[0] - top[1] < 0.01:
                break
            assert ours[step] == theirs[step], (prompt, step)
            compared += 1
    assert compared >= 40


def test_stop_sequences_cut_and_end_decoding(engine, prompts):
    full = engine.generate_until(prompts[:1], max_new_tokens=8, stop=[], batch_size=1)[0]
    stop = full.text[2:4]
    cut = engine.generate_until(prompts[:1], max_new_tokens=8, stop=[stop], batch_size=1)[0]
    assert cut.text == full.text[:full.text.find(stop)] and cut.output_tokens <= full.output_tokens


def test_groups_keep_input_order_and_report_batches(engine, prompts):
    seen, ticks = [], []
    groups = ["a" if i % 2 else "b" for i in range(len(prompts))]
    out = engine.generate_until(prompts, max_new_tokens=4, stop=[], batch_size=3, groups=groups,
                                on_batch=lambda idx, gens: seen.extend(idx),
                                progress=lambda done, total, s: ticks.append((done, total)))
    assert sorted(seen) == list(range(len(prompts))) and ticks[-1] == (len(prompts), len(prompts))
    assert out == engine.generate_until(prompts, max_new_tokens=4, stop=[], batch_size=1)


def test_generate_fixed_times_each_step(engine, prompts):
    (timed,) = engine.generate_fixed(prompts[:3], new_tokens=5, timed=True)
    assert timed.output_tokens == 15 and len(timed.token_ns) == 5
    assert timed.start_ns < timed.token_ns[0] <= timed.token_ns[-1] <= timed.end_ns and timed.ttft_s > 0
    (untimed,) = engine.generate_fixed(prompts[:1], new_tokens=3)
    assert untimed.token_ns == () and untimed.output_tokens == 3


def test_facts_and_memory_are_the_engines_own(engine, tiny_gguf):
    facts = engine.facts()
    assert (facts.engine, facts.format, facts.precision, facts.device) == ("llama_cpp", "gguf", "F32", "cpu")
    assert 0 < facts.weight_bytes <= tiny_gguf.stat().st_size and facts.details["threads"] == 1
    assert facts.details["allocated_bytes"] > facts.weight_bytes
    assert engine.peak_memory_bytes() is None  # on CPU the profiler measures a fresh process
    assert engine.count_tokens("refund my order") > 0
    assert engine.truncate_input("refund my order please", 2) == " order please"  # the last two tokens


def test_a_prompt_too_long_for_the_context_is_an_error_on_that_prompt(tiny_gguf, prompts):
    with load_engine(version_of(tiny_gguf.parent, n_ctx=64)) as small:
        out = small.generate_until([prompts[0], "x " * 400], max_new_tokens=4, stop=[], batch_size=2)
    assert out[0].error is None and "KV cells; raise n_ctx" in out[1].error  # llama.cpp pads n_ctx to 256


def test_decodes_are_chunked_to_the_contexts_batch_size(tiny_gguf, prompts, engine):
    # llama.cpp aborts the whole process (an assert) on a decode larger than its n_batch, which it
    # lowers to n_ctx, and on any decode when n_batch < its sequences: chunked, or refused at load.
    with load_engine(version_of(tiny_gguf.parent, n_batch=3, max_sequences=2, batch_sequences=True)) as chunked:
        assert chunked.decoder.n_batch == 3
        assert chunked.generate_until(prompts, max_new_tokens=6, stop=[], batch_size=8) == \
            engine.generate_until(prompts, max_new_tokens=6, stop=[], batch_size=8)
        assert chunked.generate_fixed(prompts[:2], new_tokens=4)[0].output_tokens == 8
    with load_engine(version_of(tiny_gguf.parent, n_ctx=64, n_batch=512)) as small:
        assert (small.decoder.n_batch, small.decoder.n_ctx) == (64, 256)  # n_ctx padded, n_batch not
        assert small.generate_fixed(["x " * 100], new_tokens=2)[0].output_tokens == 2  # a 200-token prefill
    with pytest.raises(EngineError, match="tiny@gguf: engine_options: n_batch 4 .* max_sequences \\+ 1 = 9"):
        load_engine(version_of(tiny_gguf.parent, n_batch=4, max_sequences=8))


def test_a_batch_beyond_the_kv_cache_ends_the_profile_sweep_like_out_of_memory(tiny_gguf, prompts):
    # Long prompts (Banking77's 77 labels) at batch 8 once overflowed n_ctx mid-profile and failed the run.
    with load_engine(version_of(tiny_gguf.parent, n_ctx=64)) as small:
        cells = lambda k: sum(small.count_tokens(p) + 16 for p in prompts[:k])  # noqa: E731
        assert cells(2) <= small.decoder.n_ctx < cells(8)  # llama.cpp pads n_ctx to 256
        with pytest.raises(BatchTooLargeError, match="tiny@gguf: a batch of 8 prompts .* n_ctx is 256"):
            small.generate_fixed(prompts, new_tokens=16)
        sweep = measure_throughput(small, prompts, [1, 2, 8], new_tokens=16, repeats=1, max_dispersion=1.0)
        assert [b["batch_size"] for b in sweep["batches"]] == [1, 2] and sweep["best_batch_size"] in (1, 2)
        assert sweep["oom"]["batch_size"] == 8 and "raise engine_options.n_ctx" in sweep["oom"]["error"]
        assert small.generate_fixed(prompts[:2], new_tokens=3)[0].output_tokens == 6  # still serves


def test_bad_options_and_missing_file_name_the_version(tiny_gguf, tmp_path):
    with pytest.raises(EngineError, match="(?s)tiny@gguf.*n_thread"):
        load_engine(version_of(tiny_gguf.parent, n_thread=2))
    with pytest.raises(EngineError, match="tiny@gguf.*no .gguf file"):
        load_engine(version_of(tmp_path))
    with pytest.raises(EngineError, match="tiny@gguf.*gguf_file names no file"):
        load_engine(version_of(tiny_gguf.parent, gguf_file="other.gguf"))
