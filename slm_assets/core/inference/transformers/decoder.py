"""Greedy decoding over any ``AutoModelForCausalLM``, with a shared-prefix KV cache where the
architecture allows it: the one decoder behind both evaluated answers and profiled timings.

The model is called with keyword arguments only (their order differs per architecture: GPT-2
takes the cache second, OPT takes positions last). Which keywords a model takes is read from its
``forward`` signature once: the cache keyword (``cache`` in transformers 5, ``past_key_values``
before), ``position_ids`` and ``logits_to_keep``.

Rows are left-padded; the attention mask hides the padding and, where the model takes
``position_ids``, positions count only real tokens, so each row sees exactly what it would see
alone. Task prompts share a long head (system prompt, instruction, label list): with a shared
prefix that head is prefilled once, and its cache copied into every batch, which then prefills
only its own inputs (the idea of vLLM's prefix caching); row layout [head | padding | own input].
That needs ``position_ids`` (positions skip the padding in the middle) and a cache that can be
deep-copied and repeated per row; a model without them decodes plain batches instead, and says
why in ``prefix_fallback``.
"""

import copy
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class SharedPrefix:
    """The token head every prompt of a call starts with, and its prefilled cache (None when empty)."""

    length: int
    cache: Any = None


NO_PREFIX = SharedPrefix(0, None)
StepHook = Callable[[int, torch.Tensor], bool]
"""``hook(step, next_ids)`` after each decoding step; True stops decoding."""


def shared_prefix_length(token_lists: Sequence[Sequence[int]]) -> int:
    """Length of the common token head, leaving every prompt at least one token of its own
    (the logits of a prompt's last token start its answer)."""
    shortest = min(len(t) for t in token_lists)
    first = token_lists[0]
    length = 0
    while length < shortest - 1 and all(t[length] == first[length] for t in token_lists):
        length += 1
    return length


def pad_token_id(tokenizer) -> int | None:
    """The id batches are padded with: the pad token, else EOS (None when the tokenizer has neither)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def eos_token_ids(model, tokenizer) -> frozenset[int]:
    ids = model.generation_config.eos_token_id
    found = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return frozenset(found)


class Decoder:
    """Forward passes and the greedy loop for one loaded model."""

    def __init__(self, model, tokenizer, device: str, sync: Callable[[], None] | None = None):
        self.model, self.tokenizer, self.device = model, tokenizer, torch.device(device)
        self.sync = sync
        params = inspect.signature(model.forward).parameters
        self.cache_keyword = "cache" if "cache" in params else "past_key_values"
        self.takes_positions = "position_ids" in params
        self.takes_logits_to_keep = "logits_to_keep" in params
        self.pad_id = pad_token_id(tokenizer)
        if self.pad_id is None:
            raise ValueError("the tokenizer has neither a pad nor an EOS token: batches cannot be padded")
        self.eos_ids = eos_token_ids(model, tokenizer)
        self.prefix_fallback: str | None = None if self.takes_positions else (
            f"{type(model).__name__}.forward takes no position_ids: rows cannot skip the padding after a shared head"
        )

    # ------------------------------------------------------------------ forward

    def forward(self, input_ids, attention, positions, cache):
        """Last-position logits and the cache after one forward pass (keyword arguments only)."""
        kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention, "use_cache": True}
        if cache is not None:
            kwargs[self.cache_keyword] = cache
        if self.takes_positions:
            kwargs["position_ids"] = positions
        if self.takes_logits_to_keep:
            kwargs["logits_to_keep"] = 1
        out = self.model(**kwargs)
        new_cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        return out.logits[:, -1], new_cache

    def prefill_prefix(self, tokens: Sequence[int]) -> SharedPrefix:
        """The head's cache, or ``NO_PREFIX`` when the head is empty or this model cannot share one."""
        if not tokens or self.prefix_fallback:
            return NO_PREFIX
        ids = torch.tensor([list(tokens)], dtype=torch.long, device=self.device)
        positions = torch.arange(len(tokens), device=self.device).unsqueeze(0)
        try:
            with torch.inference_mode():
                _, cache = self.forward(ids, torch.ones_like(ids), positions, None)
            self._repeat(cache, 2)  # the copy every batch needs: fail here, not in a batch
        except Exception as exc:  # noqa: BLE001 - any failure means: decode without a shared head
            self.prefix_fallback = f"the cache of {type(self.model).__name__} cannot be copied per row: {exc}"
            return NO_PREFIX
        return SharedPrefix(len(tokens), cache)

    @staticmethod
    def _repeat(cache, rows: int):
        copied = copy.deepcopy(cache)
        copied.batch_repeat_interleave(rows)
        return copied

    # ------------------------------------------------------------------ decoding

    def decode(self, token_lists: list[list[int]], max_new_tokens: int, hook: StepHook,
               prefix: SharedPrefix = NO_PREFIX) -> None:
        """Greedy steps for one batch whose prompts all start with ``prefix``'s tokens; ``hook``
        gets each step's next tokens (a column per row) and may stop the loop."""
        rows, head = len(token_lists), prefix.length
        width = max(len(t) - head for t in token_lists)
        input_ids = torch.full((rows, width), self.pad_id, dtype=torch.long)
        own = torch.zeros((rows, width), dtype=torch.long)
        for row, tokens in enumerate(token_lists):
            input_ids[row, width - (len(tokens) - head):] = torch.tensor(tokens[head:], dtype=torch.long)
            own[row, width - (len(tokens) - head):] = 1
        attention = torch.cat([torch.ones((rows, head), dtype=torch.long), own], dim=1).to(self.device)
        positions = (head + own.cumsum(dim=1) - 1).clamp(min=0).to(self.device)
        input_ids = input_ids.to(self.device)
        cache = self._repeat(prefix.cache, rows) if prefix.cache is not None else None
        with torch.inference_mode():
            for step in range(max_new_tokens):
                logits, cache = self.forward(input_ids, attention, positions, cache)
                next_ids = logits.argmax(dim=-1)
                if hook(step, next_ids) or step == max_new_tokens - 1:
                    break
                input_ids = next_ids.unsqueeze(1)
                attention = torch.cat([attention, attention.new_ones((rows, 1))], dim=1)
                positions = positions[:, -1:] + 1

    def until(self, token_lists: list[list[int]], max_new_tokens: int, stops: Sequence[str],
              prefix: SharedPrefix = NO_PREFIX) -> list[list[int]]:
        """Each row's tokens up to and including EOS, or up to the step that completes a stop sequence."""
        produced: list[list[int]] = [[] for _ in token_lists]
        finished = [False] * len(token_lists)

        def hook(step: int, next_ids: torch.Tensor) -> bool:
            for row, token in enumerate(next_ids.tolist()):
                if finished[row]:
                    continue
                produced[row].append(token)
                finished[row] = token in self.eos_ids or bool(
                    stops and any(s in self.tokenizer.decode(produced[row], skip_special_tokens=True) for s in stops)
                )
            return all(finished)

        self.decode(token_lists, max_new_tokens, hook, prefix)
        return produced

    def fixed(self, token_lists: list[list[int]], new_tokens: int, timed: bool) -> tuple[int, int, list[int]]:
        """Exactly ``new_tokens`` steps (EOS ignored): (start_ns, end_ns, per-step stamps when ``timed``)."""
        stamps: list[int] = []

        def hook(step: int, next_ids: torch.Tensor) -> bool:
            if timed:
                self._sync()
                stamps.append(time.perf_counter_ns())
            return False

        self._sync()
        start = time.perf_counter_ns()
        self.decode(token_lists, new_tokens, hook)
        self._sync()
        return start, time.perf_counter_ns(), stamps

    def _sync(self) -> None:
        if self.sync is not None:
            self.sync()
