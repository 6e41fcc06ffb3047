"""The llama.cpp engine: a GGUF version as it is deployed, in process through llama-cpp-python.

The chat template is the GGUF's own (``tokenizer.chat_template``, rendered by llama-cpp-python's
Jinja formatter); decoding is greedy over several sequences per ``llama_decode`` with the prompts'
shared head kept in the KV cache (see ``decoder``). Threads, context size and batch size come from
the card's ``engine_options``. The build is CPU only. Memory: the profiler measures the engine
alone in a fresh process (as for transformers on CPU); the facts add llama.cpp's own accounting
of what it allocated (``allocated_bytes``: weights, KV cache, logits buffer).
"""

import os
import time
from collections.abc import Hashable, Sequence
from pathlib import Path

import llama_cpp
from llama_cpp import _internals as internals
from llama_cpp._logger import set_verbose
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from pydantic import Field

from slm_assets.core.inference.base import (
    BatchTooLargeError,
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
from slm_assets.core.inference.llama_cpp.decoder import LlamaDecoder
from slm_assets.core.models.gguf_file import GgufError, find_gguf_file, precision_name, read_gguf


class LlamaCppConfig(EngineConfig):
    gguf_file: str | None = None
    """File name inside the version folder; default: its only ``.gguf``."""
    n_threads: int | None = Field(default=None, ge=1)
    """Threads for decoding and prefill; default: every core this process may use."""
    n_ctx: int | None = Field(default=None, ge=64)
    """KV cache cells, shared by the sequences of a batch (head + each prompt's own tokens + answers);
    default: 4096, or the model's training context when smaller."""
    n_batch: int = Field(default=512, ge=1)
    """Most tokens per ``llama_decode`` while prefilling."""
    max_sequences: int = Field(default=32, ge=1, le=255)
    """Most prompts decoded together; larger batches are split."""
    share_prompt_prefix: bool = True
    batch_sequences: bool = False
    """Decode the prompts of an evaluation batch together (one ``llama_decode`` per step for all).
    Faster on CPU, but llama.cpp's quantized kernels give a row slightly different numbers
    depending on its place in the batch, and a quantized model amplifies them: answers then
    depend on the batch size (SmolLM2 Q4_1: about 1 in 5 differ). Off: one prompt after
    another, each from the kept head, answers equal at every batch size. Fixed-length
    generation (profiling) always decodes a batch together, as a server's parallel slots do."""


def _gguf_path(version, config: LlamaCppConfig) -> Path:
    folder = Path(version.path)
    if config.gguf_file:
        path = folder / config.gguf_file
        if not path.is_file():
            raise GgufError(f"{path}: engine_options.gguf_file names no file in the version")
        return path
    found = find_gguf_file(folder)
    if found is None:
        raise GgufError(f"{folder}: no .gguf file in the version (is it a transformers model? set engine)")
    return found


class LlamaCppEngine(Engine):
    name = "llama_cpp"
    config_class = LlamaCppConfig
    capabilities = Capabilities(prefix_cache=True, per_token_timing=True, measures_memory=True, measures_energy=True)

    def __init__(self, version, config: LlamaCppConfig, path: Path, model, ctx, load_seconds: float):
        super().__init__(version, config)
        self.path, self.model, self.ctx, self.load_seconds = path, model, ctx, load_seconds
        self.metadata = model.metadata()
        self.decoder = LlamaDecoder(model, ctx, n_batch=config.n_batch, max_rows=config.max_sequences)
        self.vocab = model.vocab
        template = self.metadata.get("tokenizer.chat_template")
        self._formatter = None
        if template:
            piece = lambda tok: model.token_to_piece(tok, special=True).decode("utf-8", "replace") if tok >= 0 else ""
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=piece(model.token_eos()),
                                                  bos_token=piece(model.token_bos()), add_generation_prompt=True)

    @classmethod
    def load(cls, version, config: LlamaCppConfig) -> "LlamaCppEngine":
        label = getattr(version, "key", None) or str(version)
        start = time.perf_counter()
        try:
            path = _gguf_path(version, config)
        except GgufError as exc:
            raise EngineError(f"{label}: {exc}") from exc
        threads = config.n_threads or len(os.sched_getaffinity(0))
        mparams = llama_cpp.llama_model_default_params()
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_batch, cparams.n_ubatch = config.n_batch, config.n_batch
        cparams.n_threads = cparams.n_threads_batch = threads
        cparams.n_seq_max = config.max_sequences + 1  # sequence 0 holds the shared head
        cparams.kv_unified = True
        # Off, as in llama-cpp-python's Llama: "auto" turns it on for CPU, and its f16 softmax
        # drifts from the plain attention answers a few tokens in.
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        set_verbose(False)  # llama.cpp logs every load to stderr; errors still show
        try:
            model = internals.LlamaModel(path_model=str(path), params=mparams, verbose=False)
        except ValueError as exc:
            raise EngineError(f"{label}: llama.cpp cannot load {path.name}: {_diagnose(path, exc)}") from exc
        cparams.n_ctx = config.n_ctx or min(4096, model.n_ctx_train())
        n_batch = min(config.n_batch, cparams.n_ctx)  # llama.cpp lowers n_batch to n_ctx
        if n_batch < cparams.n_seq_max:  # llama.cpp would abort the process (an assert) creating the context
            model.close()
            raise EngineError(f"{label}: engine_options: n_batch {n_batch} (at most n_ctx) must be at least "
                              f"max_sequences + 1 = {cparams.n_seq_max}; lower max_sequences or raise n_batch")
        try:
            ctx = internals.LlamaContext(model=model, params=cparams, verbose=False)
        except ValueError as exc:
            model.close()
            raise EngineError(f"{label}: llama.cpp cannot create a context (n_ctx {cparams.n_ctx}): {exc}") from exc
        return cls(version, config, path, model, ctx, time.perf_counter() - start)

    # -- prompts
    @property
    def has_chat_template(self) -> bool:
        return self._formatter is not None

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if self._formatter is None:
            raise EngineError(f"{self.label}: {self.path.name} carries no tokenizer.chat_template")
        return self._formatter(messages=messages).prompt

    def _tokens(self, text: str, special: bool = True) -> list[int]:
        return self.model.tokenize(text.encode("utf-8"), add_bos=self.model.add_bos_token(), special=special)

    def _text(self, tokens: Sequence[int]) -> str:
        return self.model.detokenize(list(tokens), special=False).decode("utf-8", "replace")

    def count_tokens(self, text: str) -> int:
        return len(self._tokens(text))

    def truncate_input(self, text: str, max_tokens: int) -> str:
        """The last ``max_tokens`` tokens of ``text`` (inputs are truncated from the left)."""
        tokens = self.model.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return text if len(tokens) <= max_tokens else self._text(tokens[-max_tokens:])

    def _encode(self, prompts: Sequence[str]) -> list[list[int]]:
        encoded = [self._tokens(p) for p in prompts]
        for i, tokens in enumerate(encoded):
            if not tokens:
                raise ValueError(f"{self.label}: prompt {i} encodes to no tokens: nothing to generate from")
        return encoded

    # -- generation
    def generate_until(self, prompts, *, max_new_tokens, stop, batch_size, share_prefix=True, groups=None,
                       on_batch: OnBatch = None, progress: Progress = None) -> list[Generation]:
        check_generation_args(max_new_tokens, batch_size)
        if groups is not None and len(groups) != len(prompts):
            raise ValueError(f"groups has {len(groups)} keys for {len(prompts)} prompts")
        encoded = self._encode(prompts)
        members: dict[Hashable, list[int]] = {}
        for i, key in enumerate(groups if groups is not None else [None] * len(prompts)):
            members.setdefault(key, []).append(i)
        share = share_prefix and self.config.share_prompt_prefix
        stops = [s for s in stop if s]
        results: list[Generation | None] = [None] * len(prompts)
        done, started = 0, time.perf_counter()
        for member in members.values():
            head = _common_head([encoded[i] for i in member]) if share else []
            order = sorted(member, key=lambda i: -len(encoded[i]))
            for indices in self._batches(order, encoded, len(head), max_new_tokens, batch_size):
                batch = self._batch_or_each([encoded[i] for i in indices], head, max_new_tokens, stops)
                for i, generation in zip(indices, batch, strict=True):
                    results[i] = generation
                if on_batch is not None:
                    on_batch(indices, batch)
                done += len(indices)
                if progress is not None:
                    progress(done, len(prompts), time.perf_counter() - started)
        return results  # type: ignore[return-value]

    def _batches(self, order: list[int], encoded, head: int, new_tokens: int, batch_size: int):
        """Runs of at most ``batch_size`` (and ``max_sequences``) prompts whose KV cells fit ``n_ctx``."""
        size = min(batch_size, self.config.max_sequences)
        batch: list[int] = []
        for i in order:
            if batch and (len(batch) == size or self.decoder.cells_needed(
                    [encoded[j] for j in [*batch, i]], head, new_tokens) > self.decoder.n_ctx):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _batch(self, token_lists, head, max_new_tokens, stops) -> list[Generation]:
        if self.decoder.cells_needed(token_lists, len(head), max_new_tokens) > self.decoder.n_ctx:
            raise ValueError(f"prompt and answer need more than n_ctx={self.decoder.n_ctx} KV cells; raise n_ctx")
        self.decoder.set_head(head)
        produced: list[list[int]] = [[] for _ in token_lists]
        everyone = list(range(len(token_lists)))
        for rows in [everyone] if self.config.batch_sequences else [[i] for i in everyone]:
            self.decoder.run([token_lists[i] for i in rows], max_new_tokens,
                             lambda step, tokens, rows=rows: self._take(tokens, rows, produced, stops))
        return [Generation(text=cut_at_stop(self._text(tokens), stops), output_tokens=len(tokens)) for tokens in produced]

    def _take(self, tokens: dict[int, int], rows: list[int], produced: list[list[int]], stops) -> set[int]:
        """Record one step's tokens (keyed by place in ``rows``); the places that are finished."""
        finished = set()
        for place, token in tokens.items():
            if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                finished.add(place)
                continue
            answer = produced[rows[place]]
            answer.append(token)
            if stops and any(s in self._text(answer) for s in stops):
                finished.add(place)
        return finished

    def _batch_or_each(self, token_lists, head, max_new_tokens, stops) -> list[Generation]:
        try:
            return self._batch(token_lists, head, max_new_tokens, stops)
        except Exception:  # noqa: BLE001 - the per-prompt retry below records the cause
            self.decoder.set_head([])
            return [self._one_or_error(tokens, max_new_tokens, stops) for tokens in token_lists]

    def _one_or_error(self, tokens, max_new_tokens, stops) -> Generation:
        try:
            return self._batch([tokens], [], max_new_tokens, stops)[0]
        except Exception as exc:  # noqa: BLE001 - recorded on the prompt, the run goes on
            return Generation(text="", output_tokens=0, error=f"{type(exc).__name__}: {exc}")

    def generate_fixed(self, prompts, *, new_tokens, timed=False) -> list[TimedGeneration]:
        """One batch without a kept head: each call stands alone, as a request to a deployment does."""
        check_generation_args(new_tokens, 1)
        token_lists = self._encode(prompts)
        if len(token_lists) > self.config.max_sequences:
            raise ValueError(f"{self.label}: {len(token_lists)} prompts in one batch, max_sequences is "
                             f"{self.config.max_sequences}")
        needed = self.decoder.cells_needed(token_lists, 0, new_tokens)
        if needed > self.decoder.n_ctx:
            raise BatchTooLargeError(
                f"{self.label}: a batch of {len(token_lists)} prompts and {new_tokens} new tokens each needs "
                f"{needed} KV cells, n_ctx is {self.decoder.n_ctx} (raise engine_options.n_ctx)")
        self.decoder.set_head([])
        start, end, stamps = self.decoder.timed_run(token_lists, new_tokens, timed)
        return [TimedGeneration(start, end, len(token_lists) * new_tokens, tuple(stamps))]

    # -- facts
    def facts(self) -> EngineFacts:
        return EngineFacts(
            engine=self.name,
            format="gguf",
            precision=precision_name(_int(self.metadata.get("general.file_type"))),
            device="cpu",
            weight_bytes=self.model.size(),
            parameters=self.model.n_params(),
            load_seconds=self.load_seconds,
            details={
                "architecture": self.metadata.get("general.architecture"),
                "file": self.path.name,
                "file_bytes": self.path.stat().st_size,
                "threads": self.ctx.params.n_threads,
                "n_ctx": self.decoder.n_ctx,
                "max_sequences": self.config.max_sequences,
                "shared_prefix": "kept head sequence" if self.config.share_prompt_prefix else "off: engine option",
                "evaluation_batches": "decoded together" if self.config.batch_sequences else "one prompt at a time",
                "llama_cpp_python": llama_cpp.__version__,
                "allocated_bytes": self.allocated_bytes(),
            },
        )

    def allocated_bytes(self) -> int:
        """The weights llama.cpp holds, the KV cache it allocated for ``n_ctx`` (f16 keys and values
        per layer) and its logits buffer (compute scratch, a few MB, not counted)."""
        layers = _int(self.metadata.get(f"{self.metadata.get('general.architecture')}.block_count")) or 0
        kv_width = 2 * llama_cpp.llama_model_n_embd(self.model.model) * _kv_ratio(self.metadata)
        kv_bytes = int(self.decoder.n_ctx * layers * kv_width * 2)
        logits_bytes = 4 * self.decoder.n_vocab * (self.config.max_sequences + 1)
        return self.model.size() + kv_bytes + logits_bytes

    def close(self) -> None:
        if self.model is None:
            return
        self.decoder.close()
        self.ctx.close()
        self.model.close()
        self.model = self.ctx = self.decoder = None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _kv_ratio(metadata: dict[str, str]) -> float:
    """KV heads over attention heads (grouped-query attention keeps fewer keys and values)."""
    arch = metadata.get("general.architecture")
    heads = _int(metadata.get(f"{arch}.attention.head_count")) or 1
    return (_int(metadata.get(f"{arch}.attention.head_count_kv")) or heads) / heads


def _common_head(token_lists: list[list[int]]) -> list[int]:
    """The tokens all prompts start with, leaving each at least one of its own (its last token's
    logits start its answer)."""
    first, shortest = token_lists[0], min(len(t) for t in token_lists)
    length = 0
    while length < shortest - 1 and all(t[length] == first[length] for t in token_lists):
        length += 1
    return first[:length]


def _diagnose(path: Path, exc: Exception) -> str:
    """Why llama.cpp refused the file (it says so on stderr only): the GGUF checks name the cause."""
    try:
        info = read_gguf(path)
    except GgufError as gguf_exc:
        return str(gguf_exc)
    return f"{exc} (architecture {info.architecture!r}, {info.precision}; this llama.cpp may not support it)"
