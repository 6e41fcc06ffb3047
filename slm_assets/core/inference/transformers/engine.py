"""The transformers engine: any ``AutoModelForCausalLM`` folder, loaded safely by
``core.models.loading``, decoded greedily by :class:`Decoder` for evaluation and profiling alike.

``generate_until`` sorts prompts longest first (the first batch shows at once whether memory
suffices, and rows of similar length waste little padding), shares each group's prompt head
(see ``decoder``), and retries a batch that raises one prompt at a time, so one bad prompt is an
error on that prompt and the rest goes on. ``generate_fixed`` times the same decoder without a
shared head: each call stands alone, as a request to a deployed model does.
"""

import time
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

from slm_assets.core.inference.base import (
    Capabilities,
    Engine,
    EngineConfig,
    EngineError,
    EngineFacts,
    Generation,
    OnBatch,
    Progress,
    TimedGeneration,
    check_generation_args,
    cut_at_stop,
)
from slm_assets.core.inference.chat import TokenizerPrompts
from slm_assets.core.inference.transformers.decoder import Decoder, SharedPrefix, shared_prefix_length
from slm_assets.core.models.loading import ModelLoadError, load_model


class TransformersConfig(EngineConfig):
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """auto: float32 on CPU (bfloat16 matmuls are slow there), bfloat16 (else float16) on CUDA."""
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    share_prompt_prefix: bool = True
    """Prefill the prompts' common head once per call (where the architecture allows it)."""


class TransformersEngine(Engine):
    name = "transformers"
    config_class = TransformersConfig
    capabilities = Capabilities(prefix_cache=True, per_token_timing=True, measures_memory=True, measures_energy=True)

    def __init__(self, version, config: TransformersConfig, loaded):
        super().__init__(version, config)
        self.loaded = loaded
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self.device = loaded.device
        self._on_cuda = str(self.device).startswith("cuda")
        self.decoder = Decoder(self.model, self.tokenizer, self.device,
                               sync=torch.cuda.synchronize if self._on_cuda else None)
        self._prompts = TokenizerPrompts(self.tokenizer)

    @classmethod
    def load(cls, version, config: TransformersConfig) -> "TransformersEngine":
        label = getattr(version, "key", None) or str(version)
        dtype = None if config.dtype == "auto" else config.dtype
        try:
            if dtype == "float16" and not _resolves_to_cuda(config.device):
                raise EngineError(f"{label}: dtype float16 needs a CUDA device (device {config.device!r} is CPU here); "
                                  "use float32 or bfloat16 on CPU")
            loaded = load_model(version, device=config.device, dtype=dtype)
            return cls(version, config, loaded)
        except (ModelLoadError, ValueError) as exc:
            raise EngineError(f"{label}: transformers engine cannot load it: {exc}") from exc

    # -- prompts
    @property
    def has_chat_template(self) -> bool:
        return self._prompts.has_chat_template

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return self._prompts.apply_chat_template(messages)

    def truncate_input(self, text: str, max_tokens: int) -> str:
        return self._prompts.truncate_input(text, max_tokens)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _encode(self, prompts: Sequence[str]) -> list[list[int]]:
        # Chat templates already carry their special tokens.
        encoded = self.tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        empty = next((i for i, tokens in enumerate(encoded) if not tokens), None)
        if empty is not None:
            raise ValueError(f"{self.label}: prompt {empty} encodes to no tokens: nothing to generate from")
        return encoded

    # -- generation
    def generate_until(self, prompts, *, max_new_tokens, stop, batch_size, share_prefix=True, groups=None,
                       on_batch: OnBatch = None, progress: Progress = None) -> list[Generation]:
        check_generation_args(max_new_tokens, batch_size)
        if not prompts:
            return []
        encoded = self._encode(prompts)
        if groups is not None and len(groups) != len(prompts):
            raise ValueError(f"groups has {len(groups)} keys for {len(prompts)} prompts")
        members: dict[Hashable, list[int]] = {}
        for i, key in enumerate(groups if groups is not None else [None] * len(prompts)):
            members.setdefault(key, []).append(i)
        share = share_prefix and self.config.share_prompt_prefix
        results: list[Generation | None] = [None] * len(prompts)
        done, started = 0, time.perf_counter()
        for member in members.values():
            head = shared_prefix_length([encoded[i] for i in member]) if share else 0
            prefix = self.decoder.prefill_prefix(encoded[member[0]][:head])
            order = sorted(member, key=lambda i: -len(encoded[i]))  # stable: ties keep input order
            for start in range(0, len(order), batch_size):
                indices = order[start:start + batch_size]
                batch = self._batch_or_each([encoded[i] for i in indices], max_new_tokens, stop, prefix)
                for i, generation in zip(indices, batch, strict=True):
                    results[i] = generation
                if on_batch is not None:
                    on_batch(indices, batch)
                done += len(indices)
                if progress is not None:
                    progress(done, len(prompts), time.perf_counter() - started)
        return results  # type: ignore[return-value]

    def _batch(self, token_lists, max_new_tokens, stop, prefix: SharedPrefix) -> list[Generation]:
        produced = self.decoder.until(token_lists, max_new_tokens, [s for s in stop if s], prefix)
        return [Generation(text=cut_at_stop(self.tokenizer.decode(tokens, skip_special_tokens=True), stop),
                           output_tokens=len(tokens)) for tokens in produced]

    def _batch_or_each(self, token_lists, max_new_tokens, stop, prefix) -> list[Generation]:
        try:
            return self._batch(token_lists, max_new_tokens, stop, prefix)
        except Exception:  # noqa: BLE001 - the per-prompt retry below records the cause
            return [self._one_or_error(tokens, max_new_tokens, stop, prefix) for tokens in token_lists]

    def _one_or_error(self, tokens, max_new_tokens, stop, prefix) -> Generation:
        try:
            return self._batch([tokens], max_new_tokens, stop, prefix)[0]
        except Exception as exc:  # noqa: BLE001 - recorded on the prompt, the run goes on
            return Generation(text="", output_tokens=0, error=f"{type(exc).__name__}: {exc}")

    def generate_fixed(self, prompts, *, new_tokens, timed=False) -> list[TimedGeneration]:
        check_generation_args(new_tokens, 1)
        if not prompts:
            raise ValueError(f"{self.label}: generate_fixed needs at least one prompt")
        token_lists = self._encode(prompts)
        start, end, stamps = self.decoder.fixed(token_lists, new_tokens, timed)
        return [TimedGeneration(start, end, len(token_lists) * new_tokens, tuple(stamps))]

    # -- facts
    def facts(self) -> EngineFacts:
        params = list(self.model.parameters())
        return EngineFacts(
            engine=self.name,
            format="safetensors" if any(Path(self.loaded.path).glob("*.safetensors")) else "pickle",
            precision=str(self.model.dtype).removeprefix("torch."),
            device=str(self.device),
            weight_bytes=sum(p.numel() * p.element_size() for p in params),
            parameters=sum(p.numel() for p in params),
            load_seconds=self.loaded.load_seconds,
            details={
                "architecture": type(self.model).__name__,
                "shared_prefix": "off: " + self.decoder.prefix_fallback if self.decoder.prefix_fallback
                else ("kv-cache copy" if self.config.share_prompt_prefix else "off: engine option"),
                "cache_keyword": self.decoder.cache_keyword,
                "path": str(self.loaded.path),
            },
        )

    def peak_memory_bytes(self) -> int | None:
        return torch.cuda.max_memory_allocated(self.device) if self._on_cuda else None

    def reset_peak_memory(self) -> None:
        if self._on_cuda:
            torch.cuda.reset_peak_memory_stats(self.device)

    def close(self) -> None:
        if self.loaded is None:
            return
        self.loaded = self.model = self.decoder = None
        if self._on_cuda:
            torch.cuda.empty_cache()


def _resolves_to_cuda(device: str) -> bool:
    return device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())

