"""Tiny models for tests, benchmarks of the plumbing and the UI test.

They are real ``transformers`` models (Llama by default, see ``TINY_ARCHITECTURES``) (random weights, a byte-level BPE
tokenizer trained here on generated text, a ChatML chat template like
SmolLM2's), small enough to build in about a second on a CPU.
"""

import random
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"]

_WORDS = (
    "refund invoice login password order status address cancel bug upgrade subscription plan "
    "account card payment charge delivery shipping broken error app help please my the a to "
    "is not can you i want need where how why when billing request label answer intent"
).split()


def generated_corpus(lines: int = 400, seed: int = 0, extra: list[str] | None = None) -> list[str]:
    """Deterministic pseudo-sentences over a support-desk vocabulary (plus ``extra`` lines)."""
    rng = random.Random(seed)
    corpus = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14))) for _ in range(lines)]
    return corpus + list(extra or [])


def build_tokenizer(corpus: list[str] | None = None, vocab_size: int = 600):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``corpus``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus or generated_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


TINY_ARCHITECTURES = ("llama", "qwen2", "mistral", "phi3", "gemma", "gpt2", "opt", "gpt_neox")


def _tiny_config_fields(model_type: str, hidden: int, layers: int) -> dict:
    """Size fields under each architecture's own names."""
    if model_type == "gpt2":
        return {"n_embd": hidden, "n_layer": layers, "n_head": 4, "n_positions": 1024}
    common = {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 4,
              "max_position_embeddings": 1024}
    if model_type == "opt":
        return {**common, "ffn_dim": hidden * 2, "word_embed_proj_dim": hidden}
    if model_type == "gpt_neox":
        return {**common, "intermediate_size": hidden * 2}
    fields = {**common, "intermediate_size": hidden * 2, "num_key_value_heads": 2}
    if model_type == "gemma":
        fields["head_dim"] = hidden // 4
    return fields


def build_tiny_model(
    out_dir: str | Path,
    seed: int = 0,
    hidden_size: int = 32,
    layers: int = 2,
    corpus: list[str] | None = None,
    chat_template: bool = True,
    initializer_range: float = 0.02,
    model_type: str = "llama",
) -> Path:
    """Write a tiny random-weight causal LM folder (safetensors) and return it: Llama by default,
    or any of ``TINY_ARCHITECTURES``.

    The default initialisation makes a model that answers almost nothing but newlines;
    ``initializer_range`` around 0.25 gives sharper, prompt-dependent greedy answers.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(corpus)
    if not chat_template:
        tokenizer.chat_template = None
    config = AutoConfig.for_model(
        model_type,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=initializer_range,
        **_tiny_config_fields(model_type, hidden_size, layers),
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out
