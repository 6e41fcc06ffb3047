"""The engine interface: what evaluation, profiling, side-by-side rounds and the fine-tune's
evaluation need from a runtime, and nothing more.

One subpackage per runtime (``transformers/``, ``llama_cpp/``, ``openai/``), each with a typed
config (pydantic, ``extra="forbid"``) read from the card's ``engine_options`` and an ``Engine``
subclass. ``load_engine`` (in ``registry.py``) imports an engine's package only when a card names
it, so optional engines are optional extras.

Two generation calls, because the two jobs differ:
- ``generate_until``: answers to evaluate -- batched greedy decoding, cut at stop sequences,
  one ``Generation`` per prompt in input order; one failing prompt is an error on that prompt,
  never an exception for the batch.
- ``generate_fixed``: work to time -- exactly ``new_tokens`` tokens per prompt (end-of-sequence
  ignored), all prompts at once as one batch (or as concurrent requests for a server), with a
  timestamp per output token where ``capabilities.per_token_timing``.
Both are greedy and deterministic; the profiled code path is the evaluated one.
"""

import abc
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class EngineError(RuntimeError):
    """An engine that cannot load or serve a version; the message names the version and the cause."""


class BatchTooLargeError(EngineError):
    """A batch the engine cannot hold (its KV cache or context): like running out of memory, a
    profile's batch sweep stops there and records it, since larger batches cannot fit either."""


class EngineConfig(BaseModel):
    """Base of each engine's typed options (the card's ``engine_options``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Generation:
    text: str
    """Decoded output, special tokens removed, cut before the first stop sequence."""
    output_tokens: int
    error: str | None = None


@dataclass(frozen=True)
class TimedGeneration:
    """One fixed-length generation of a batch (or of one concurrent request)."""

    start_ns: int
    end_ns: int
    output_tokens: int
    token_ns: tuple[int, ...] = ()
    """``perf_counter_ns`` as each decoding step's tokens came out (empty without per-token timing)."""

    @property
    def ttft_s(self) -> float | None:
        return (self.token_ns[0] - self.start_ns) / 1e9 if self.token_ns else None


@dataclass(frozen=True)
class Capabilities:
    prefix_cache: bool = False
    """Shares the prompts' common head across a call (a KV-cache copy or saved state)."""
    per_token_timing: bool = False
    """``generate_fixed`` returns a timestamp per decoding step (TTFT/TPOT)."""
    measures_memory: bool = False
    """``peak_memory_bytes`` is the engine's own figure (False for a remote server)."""
    measures_energy: bool = False
    """Energy can be read for this engine's device (False for a remote server)."""
    remote: bool = False
    batch_is_concurrency: bool = False
    """A batch size means that many concurrent requests (servers), not one padded batch."""


@dataclass(frozen=True)
class EngineFacts:
    """What ran: shown per version in the report, the leaderboard and the profile."""

    engine: str
    format: str
    """safetensors, gguf, remote."""
    precision: str
    """float32, bfloat16, Q4_1, ... ('unknown' when a server does not say)."""
    device: str
    weight_bytes: int | None
    parameters: int | None
    load_seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    """Engine-specific facts (threads, context size, base URL without credentials...)."""


Progress = Callable[[int, int, float], None] | None
OnBatch = Callable[[list[int], list[Generation]], None] | None


class Engine(abc.ABC):
    """One loaded model version on one runtime. Use as a context manager, or call ``close``."""

    name: ClassVar[str]
    config_class: ClassVar[type[EngineConfig]]
    capabilities: ClassVar[Capabilities]

    def __init__(self, version: Any, config: EngineConfig):
        self.version = version
        self.config = config

    @classmethod
    @abc.abstractmethod
    def load(cls, version: Any, config: EngineConfig) -> "Engine":
        """Load ``version``; any failure is an ``EngineError`` naming the version and the cause."""

    @property
    def label(self) -> str:
        """The version as errors name it."""
        return str(getattr(self.version, "key", None) or getattr(self.version, "ref", None) or self.version)

    # -- prompts (an engine is a ``PromptRenderer``: ``evaluation.prompts.build_prompt`` takes one)
    @property
    def has_chat_template(self) -> bool:
        """Whether the model ships a chat template (else prompts go in as plain text)."""
        return True

    @abc.abstractmethod
    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        """The model's own chat template over ``messages``, ready for the assistant's answer."""

    def truncate_input(self, text: str, max_tokens: int) -> str:
        """The last ``max_tokens`` tokens of ``text`` (the task's left truncation). An engine
        without a tokenizer (a remote server) returns ``text`` unchanged."""
        return text

    # -- generation
    @abc.abstractmethod
    def generate_until(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int,
        stop: Sequence[str],
        batch_size: int,
        share_prefix: bool = True,
        groups: Sequence[Hashable] | None = None,
        on_batch: OnBatch = None,
        progress: Progress = None,
    ) -> list[Generation]:
        """Greedy answers in input order. ``groups`` batches each key apart (its own shared head);
        ``on_batch(indices, generations)`` after each batch; ``progress(done, total, seconds)``."""

    @abc.abstractmethod
    def generate_fixed(self, prompts: Sequence[str], *, new_tokens: int, timed: bool = False) -> list[TimedGeneration]:
        """Exactly ``new_tokens`` per prompt, the prompts as one batch (a server: concurrent
        requests, one ``TimedGeneration`` each; in process: one for the whole batch)."""

    # -- facts
    @abc.abstractmethod
    def facts(self) -> EngineFacts: ...

    def peak_memory_bytes(self) -> int | None:
        """Peak memory of the engine alone since load or the last ``reset_peak_memory`` (None where
        the engine has no own accounting: remote, or in-process on CPU, where the profiler measures
        a fresh process instead)."""
        return None

    def reset_peak_memory(self) -> None:
        """Start a new ``peak_memory_bytes`` window (a profiling phase)."""

    def count_tokens(self, text: str) -> int | None:
        """Tokens in ``text`` for this model (None where the engine cannot tell)."""
        return None

    def close(self) -> None:
        """Free the model (and connections); idempotent."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = len(text)
    for s in stop:
        if s:
            at = text.find(s)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


def check_generation_args(max_new_tokens: int, batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
