"""The OpenAI-compatible server engine: a version served elsewhere (vLLM, SGLang, TGI, llama.cpp's
server, Ollama...), reached only because its card sets ``base_url``.

- Prompts: with ``api: chat`` the server applies the model's chat template; ``apply_chat_template``
  then hands back the messages encoded as one string (``CHAT_PREFIX`` + JSON), which
  ``generate_*`` sends as ``messages``. With ``api: completions`` prompts go as they are and the
  engine has no chat template of its own.
- A batch size is a concurrency level: that many requests in flight at once.
- Timing comes from the streamed chunks (one chunk per token for the servers named above):
  TTFT is the first chunk of output, TPOT the gaps between them. ``output_tokens`` counts the
  chunks of output the server streamed (a server may send the tokens of one character as one).
- Memory and energy are not measured (the server's machine is not this one): ``None``, and the
  facts say "not measured: remote".
- The API key is read at request time from the environment variable the card *names*
  (``api_key_env``); the key itself is never stored, logged or put in a message.
- Token counts and input truncation need the server's tokenizer, which the OpenAI API does not
  expose: ``count_tokens`` is None and ``truncate_input`` keeps the input whole (the server
  answers too long a prompt with an error, recorded on that prompt).
"""

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

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
from slm_assets.core.inference.openai.client import Chunk, OpenAIClient, ServerError, public_url

CHAT_PREFIX = "openai-chat-messages:"
NOT_MEASURED = "not measured: remote"


class OpenAIConfig(EngineConfig):
    base_url: str = Field(pattern=r"^https?://")
    """The API root, e.g. http://127.0.0.1:8000/v1 (required: nothing is remote unless a card says so)."""
    model: str = Field(min_length=1)
    """The served model name (the ``model`` field of each request)."""
    api: Literal["chat", "completions"] = "chat"
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The NAME of the environment variable holding the API key (read at run time)."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Longest wait to connect, and for the next bytes of an answer."""
    request_timeout_s: float = Field(default=600.0, gt=0)
    """Longest time for one whole answer."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Server-specific request fields, e.g. ``{"repeat_penalty": 1.0}`` for llama-cpp-python's server,
    whose default penalty of 1.1 would make answers other than greedy ones."""


class OpenAIEngine(Engine):
    name = "openai"
    config_class = OpenAIConfig
    capabilities = Capabilities(per_token_timing=True, remote=True, batch_is_concurrency=True)

    def __init__(self, version, config: OpenAIConfig, client: OpenAIClient, load_seconds: float):
        super().__init__(version, config)
        self.client, self.load_seconds = client, load_seconds

    @classmethod
    def load(cls, version, config: OpenAIConfig) -> "OpenAIEngine":
        """Checks that the server answers and serves ``config.model`` (``GET /models``)."""
        label = getattr(version, "key", None) or str(version)
        start = time.perf_counter()
        try:
            client = OpenAIClient(config.base_url, timeout_s=config.timeout_s,
                                  request_timeout_s=config.request_timeout_s)
            engine = cls(version, config, client, 0.0)
            served = [m.get("id") for m in client.get_json("/models", engine._api_key()).get("data") or []
                      if isinstance(m, dict)]
        except ServerError as exc:
            raise EngineError(f"{label}: openai engine: {exc}") from exc
        if config.model not in served:
            raise EngineError(f"{label}: {public_url(config.base_url)} does not serve model {config.model!r} "
                              f"(it serves: {', '.join(map(str, served)) or 'nothing'})")
        engine.load_seconds = time.perf_counter() - start
        return engine

    def _api_key(self) -> str | None:
        name = self.config.api_key_env
        if name is None:
            return None
        key = os.environ.get(name)
        if not key:
            raise ServerError(f"the API key variable {name} named by the card is not set")
        return key

    # -- prompts
    @property
    def has_chat_template(self) -> bool:
        return self.config.api == "chat"

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        if self.config.api != "chat":
            raise EngineError(f"{self.label}: api 'completions' has no chat template; set api: chat")
        return CHAT_PREFIX + json.dumps(messages, ensure_ascii=False, sort_keys=True)

    def truncate_input(self, text: str, max_tokens: int) -> str:
        return text

    def _request(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> tuple[str, dict]:
        body: dict = {**self.config.extra_body, "model": self.config.model, "max_tokens": max_tokens,
                      "temperature": 0.0, "top_p": 1.0, "seed": 0}
        if stop:
            body["stop"] = list(stop)[:4]  # the OpenAI API takes at most four; the rest are cut here
        if prompt.startswith(CHAT_PREFIX):
            return "/chat/completions", {**body, "messages": json.loads(prompt[len(CHAT_PREFIX):])}
        if self.config.api == "chat":
            return "/chat/completions", {**body, "messages": [{"role": "user", "content": prompt}]}
        return "/completions", {**body, "prompt": prompt}

    def _stream(self, prompt: str, max_tokens: int, stop: Sequence[str]) -> tuple[int, list[Chunk]]:
        path, body = self._request(prompt, max_tokens, stop)
        start = time.perf_counter_ns()
        try:
            return start, list(self.client.stream(path, body, self._api_key()))
        except ServerError as exc:
            raise EngineError(f"{self.label}: {exc}") from exc

    # -- generation
    def generate_until(self, prompts, *, max_new_tokens, stop, batch_size, share_prefix=True, groups=None,
                       on_batch: OnBatch = None, progress: Progress = None) -> list[Generation]:
        """``batch_size`` requests in flight; ``groups`` and ``share_prefix`` are the server's business."""
        check_generation_args(max_new_tokens, batch_size)
        stops = [s for s in stop if s]

        def one(prompt: str) -> Generation:
            try:
                _, chunks = self._stream(prompt, max_new_tokens, stops)
            except EngineError as exc:
                return Generation(text="", output_tokens=0, error=str(exc))
            return Generation(text=cut_at_stop("".join(c.text for c in chunks), stops),
                              output_tokens=sum(1 for c in chunks if c.token))

        results: list[Generation | None] = [None] * len(prompts)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=batch_size, thread_name_prefix="openai") as pool:
            for start in range(0, len(prompts), batch_size):
                indices = list(range(start, min(start + batch_size, len(prompts))))
                batch = list(pool.map(one, [prompts[i] for i in indices]))
                for i, generation in zip(indices, batch, strict=True):
                    results[i] = generation
                if on_batch is not None:
                    on_batch(indices, batch)
                if progress is not None:
                    progress(indices[-1] + 1, len(prompts), time.perf_counter() - started)
        return results  # type: ignore[return-value]

    def generate_fixed(self, prompts, *, new_tokens, timed=False) -> list[TimedGeneration]:
        """All prompts as concurrent requests, one ``TimedGeneration`` each; a failed request raises.
        The server may end an answer early at end-of-sequence: ``output_tokens`` says what came."""
        check_generation_args(new_tokens, 1)

        def one(prompt: str) -> TimedGeneration:
            start, chunks = self._stream(prompt, new_tokens, [])
            stamps = tuple(c.at_ns for c in chunks if c.token)
            end = chunks[-1].at_ns if chunks else time.perf_counter_ns()
            return TimedGeneration(start, end, len(stamps), stamps if timed else ())

        with ThreadPoolExecutor(max_workers=max(1, len(prompts)), thread_name_prefix="openai") as pool:
            return list(pool.map(one, prompts))

    # -- facts
    def facts(self) -> EngineFacts:
        return EngineFacts(
            engine=self.name, format="remote", precision="unknown", device="remote", weight_bytes=None,
            parameters=None, load_seconds=self.load_seconds,
            details={"base_url": self.client.url, "served_model": self.config.model, "api": self.config.api,
                     "api_key_env": self.config.api_key_env, "memory": NOT_MEASURED, "energy": NOT_MEASURED},
        )
