"""Batched greedy generation, the way lm-evaluation-harness does it, plus a shared-prefix KV cache.

Prompts are sorted longest first (the first batch shows at once whether memory
suffices, and rows of similar length waste little padding), left-padded,
decoded greedily under ``torch.inference_mode`` in batches, cut at the first
stop sequence, then put back in their original order. A batch that raises is
retried one example at a time, so one bad example is recorded with its error
and the rest goes on.

Task prompts share a long head (system prompt, instruction, the label list) and
differ only in the input. That head is prefilled once per call (per group of
prompts, see ``generate_batched``) and its key/value cache copied into every
batch, so each batch prefills only its own inputs (the idea of vLLM's prefix caching).
The decoding loop is our own rather than ``generate``: it has to place the
padding between the shared head and each input and give every row its own
positions; it applies no logits processors, which is what greedy decoding means here.
"""

import copy
import re
import string
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import DynamicCache


@dataclass(frozen=True)
class Generation:
    text: str
    """Decoded output, special tokens removed, cut before the first stop sequence."""
    output_tokens: int
    error: str | None = None


@dataclass(frozen=True)
class SharedPrefix:
    """The token head every prompt of a call starts with, and its prefilled cache (None when empty)."""

    length: int
    cache: DynamicCache | None

    def cache_for(self, model, rows: int) -> DynamicCache:
        if self.cache is None:
            return DynamicCache(config=model.config)
        cache = copy.deepcopy(self.cache)
        cache.batch_repeat_interleave(rows)
        return cache


NO_PREFIX = SharedPrefix(0, None)


def shared_prefix_length(token_lists: Sequence[Sequence[int]]) -> int:
    """Length of the common token head, leaving every prompt at least one token of its own
    (the logits of a prompt's last token start its answer)."""
    shortest = min(len(t) for t in token_lists)
    first = token_lists[0]
    length = 0
    while length < shortest - 1 and all(t[length] == first[length] for t in token_lists):
        length += 1
    return length


def prefill_prefix(loaded, tokens: Sequence[int]) -> SharedPrefix:
    if not tokens:
        return NO_PREFIX
    model = loaded.model
    cache = DynamicCache(config=model.config)
    ids = torch.tensor([list(tokens)], dtype=torch.long, device=loaded.device)
    with torch.inference_mode():
        # The cache goes in by position: transformers 5.x is renaming its keyword from `past_key_values` to `cache`.
        model(ids, torch.ones_like(ids), None, cache, use_cache=True, logits_to_keep=1)
    return SharedPrefix(len(tokens), cache)


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = len(text)
    for s in stop:
        if s:
            at = text.find(s)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


def _eos_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return found


def pad_token_id(tokenizer) -> int | None:
    """The id batches are padded with: the pad token, else EOS (None when the tokenizer has neither)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _generate_one_batch(
    loaded, token_lists: list[list[int]], max_new_tokens: int, stop: Sequence[str], prefix: SharedPrefix = NO_PREFIX
) -> list[Generation]:
    """Greedy answers for one batch whose prompts all start with ``prefix``'s tokens.

    Row layout: [shared head | left padding | own input]; the attention mask hides
    the padding and positions count only real tokens, so each row sees exactly
    what it would see alone.
    """
    model, tokenizer, device = loaded.model, loaded.tokenizer, loaded.device
    rows, head = len(token_lists), prefix.length
    pad_id = pad_token_id(tokenizer)
    width = max(len(t) - head for t in token_lists)
    input_ids = torch.full((rows, width), pad_id, dtype=torch.long)
    own = torch.zeros((rows, width), dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        input_ids[row, width - (len(tokens) - head) :] = torch.tensor(tokens[head:], dtype=torch.long)
        own[row, width - (len(tokens) - head) :] = 1
    attention = torch.cat([torch.ones((rows, head), dtype=torch.long), own], dim=1).to(device)
    positions = (head + own.cumsum(dim=1) - 1).clamp(min=0).to(device)
    input_ids = input_ids.to(device)
    cache = prefix.cache_for(model, rows)
    eos = _eos_ids(model, tokenizer)
    stops = [s for s in stop if s]
    produced: list[list[int]] = [[] for _ in range(rows)]
    finished = [False] * rows
    with torch.inference_mode():
        for step in range(max_new_tokens):
            logits = model(input_ids, attention, positions, cache, use_cache=True, logits_to_keep=1).logits[:, -1]
            next_ids = logits.argmax(dim=-1).tolist()
            for row in range(rows):
                if finished[row]:
                    next_ids[row] = pad_id
                    continue
                produced[row].append(next_ids[row])
                finished[row] = next_ids[row] in eos or bool(
                    stops and any(s in tokenizer.decode(produced[row], skip_special_tokens=True) for s in stops)
                )
            if all(finished) or step == max_new_tokens - 1:
                break
            input_ids = torch.tensor(next_ids, dtype=torch.long, device=device).unsqueeze(1)
            attention = torch.cat([attention, attention.new_ones((rows, 1))], dim=1)
            positions = positions[:, -1:] + 1
    return [
        Generation(
            text=cut_at_stop(tokenizer.decode(tokens, skip_special_tokens=True), stop), output_tokens=len(tokens)
        )
        for tokens in produced
    ]


def generate_batched(
    loaded,
    prompts: Sequence[str],
    max_new_tokens: int,
    stop: Sequence[str],
    batch_size: int,
    add_special_tokens: bool = False,
    share_prefix: bool = True,
    groups: Sequence[Hashable] | None = None,
    on_batch: Callable[[list[int], list[Generation]], None] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    show_progress: bool = True,
) -> list[Generation]:
    """Greedy outputs for ``prompts``, in their order.

    ``share_prefix`` prefills the prompts' common token head once (see the module
    docstring); off, every batch prefills whole prompts. ``groups`` (one key per prompt,
    e.g. the robustness variant) batches each group apart with a head of its own: a
    perturbed instruction would otherwise cut the head shared by all prompts to the chat header.
    ``on_batch(indices, generations)`` runs after each batch (indices into
    ``prompts``), e.g. to commit results to the prediction cache;
    ``progress(done, total, seconds)`` reports progress (e.g. to Dagster's log).
    ``add_special_tokens`` is off by default: chat templates already carry them.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if not prompts:
        return []
    tokenizer = loaded.tokenizer
    encoded = tokenizer(list(prompts), add_special_tokens=add_special_tokens)["input_ids"]
    if any(not tokens for tokens in encoded):
        empty = next(i for i, tokens in enumerate(encoded) if not tokens)
        raise ValueError(f"prompt {empty} encodes to no tokens: nothing to generate from")
    if groups is not None and len(groups) != len(prompts):
        raise ValueError(f"groups has {len(groups)} keys for {len(prompts)} prompts")
    members: dict[Hashable, list[int]] = {}
    for i, key in enumerate(groups if groups is not None else [None] * len(prompts)):
        members.setdefault(key, []).append(i)
    results: list[Generation | None] = [None] * len(prompts)
    done, started = 0, time.perf_counter()
    bar = tqdm(total=len(prompts), desc="generate", unit="ex", disable=not show_progress)
    try:
        for member in members.values():
            head = shared_prefix_length([encoded[i] for i in member]) if share_prefix else 0
            prefix = prefill_prefix(loaded, encoded[member[0]][:head])
            order = sorted(member, key=lambda i: -len(encoded[i]))  # stable: ties keep input order
            for start in range(0, len(order), batch_size):
                indices = order[start : start + batch_size]
                batch = _run_batch_or_each(loaded, [encoded[i] for i in indices], max_new_tokens, stop, prefix)
                for i, generation in zip(indices, batch, strict=True):
                    results[i] = generation
                if on_batch is not None:
                    on_batch(indices, batch)
                done += len(indices)
                bar.update(len(indices))
                if progress is not None:
                    progress(done, len(prompts), time.perf_counter() - started)
    finally:
        bar.close()
    return results  # type: ignore[return-value]


def _run_batch_or_each(loaded, token_lists, max_new_tokens, stop, prefix) -> list[Generation]:
    try:
        return _generate_one_batch(loaded, token_lists, max_new_tokens, stop, prefix)
    except Exception:  # noqa: BLE001 - the per-example retry below records the cause
        return [_one_or_error(loaded, tokens, max_new_tokens, stop, prefix) for tokens in token_lists]


def _one_or_error(loaded, tokens, max_new_tokens, stop, prefix) -> Generation:
    try:
        return _generate_one_batch(loaded, [tokens], max_new_tokens, stop, prefix)[0]
    except Exception as exc:  # noqa: BLE001 - recorded on the example, the run goes on
        return Generation(text="", output_tokens=0, error=f"{type(exc).__name__}: {exc}")


# ----------------------------------------------------------------- output normalisation

_EDGE_PUNCT = string.punctuation + "“”‘’«»"


def clean_output(raw: str) -> str:
    """First non-empty line, stripped of surrounding quotes and trailing punctuation."""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = line.strip("\"'`“”‘’«» ")
    return line.rstrip(".,;:!?" + " ").strip()


def match_label(raw: str, labels: Sequence[str]) -> str | None:
    """The label the output names: exact, then case-insensitive (spaces/underscores alike)."""
    cleaned = clean_output(raw)
    if cleaned in labels:
        return cleaned
    folded = _fold(cleaned)
    for label in labels:
        if _fold(label) == folded:
            return label
    return None


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip(_EDGE_PUNCT).lower()).strip()
