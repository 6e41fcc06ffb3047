"""Greedy decoding of several sequences at once on one llama.cpp context (llama-cpp-python's
low-level API): the decoder behind both the llama.cpp engine's answers and its timings.

Why a kept head and several sequences: llama.cpp's own prefix reuse (what ``Llama`` does between
calls) skips the prompts' common head only when the previous prompt shared it; here the head stays
in its own sequence across batches and groups. And one sequence per decode step leaves the CPU
waiting on memory -- a Q4_1 135M model reads its 98 MB of weights for every single token -- while
a batch of sequences in one ``llama_decode`` per step reads them once for all (used for
fixed-length timing, and for answers when the engine's ``batch_sequences`` is on: see there why
it is off by default). The context has a unified KV cache; sequence 0 holds the
prompts' shared head (prefilled once, kept across batches and calls while it stays the same, and
trimmed to the common part when it changes, as llama.cpp's server does), and each batch copies it
into sequences 1..n by reference (``llama_memory_seq_cp``: no data copied), prefills only each
prompt's own tokens, then decodes one token per live sequence per step.
"""

import time
from collections.abc import Callable, Sequence

import llama_cpp
import numpy as np
from llama_cpp import _internals as internals

StepHook = Callable[[int, dict[int, int]], set[int]]
"""``hook(step, {row: token})`` after each step; returns the rows that are finished."""


class LlamaDecoder:
    def __init__(self, model: "internals.LlamaModel", ctx: "internals.LlamaContext", *, n_batch: int, max_rows: int):
        self.model, self.ctx = model, ctx
        # llama.cpp lowers n_batch to n_ctx, and aborts the process (an assert, not an error code)
        # on a decode of more tokens than the context's n_batch: every decode is chunked to it.
        self.n_batch, self.max_rows = min(n_batch, llama_cpp.llama_n_batch(ctx.ctx)), max_rows
        self.n_vocab = model.n_vocab()
        self.n_ctx = ctx.n_ctx()
        self._memory = llama_cpp.llama_get_memory(ctx.ctx)
        self._batch = internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False)
        self.head: list[int] = []

    # -- the KV cache
    def cells_needed(self, token_lists: Sequence[Sequence[int]], head: int, new_tokens: int) -> int:
        return head + sum(len(t) - head + new_tokens for t in token_lists)

    def set_head(self, tokens: Sequence[int]) -> None:
        """Sequence 0 holds ``tokens``: only what differs from the head kept so far is computed."""
        tokens = list(tokens)
        keep = 0
        for a, b in zip(self.head, tokens):
            if a != b:
                break
            keep += 1
        llama_cpp.llama_memory_seq_rm(self._memory, 0, keep, -1)
        self.head = tokens[:keep]
        if keep < len(tokens):
            self._prefill([(0, tokens[keep:], keep)])
            self.head = tokens

    def _clear_rows(self) -> None:
        for seq in range(1, self.max_rows + 1):
            llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)

    # -- decoding
    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        batch = self._batch.batch
        batch.n_tokens = len(entries)
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i], batch.pos[i] = token, pos
            batch.seq_id[i][0], batch.n_seq_id[i] = seq, 1
            batch.logits[i] = logits
        code = llama_cpp.llama_decode(self.ctx.ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code} (KV cache full or invalid batch)")

    def _argmax(self, index: int) -> int:
        logits = np.ctypeslib.as_array(self.ctx.get_logits_ith(index), shape=(self.n_vocab,))
        return int(logits.argmax())

    def _prefill(self, rows: list[tuple[int, list[int], int]]) -> dict[int, int]:
        """Evaluate each ``(seq, tokens, first_pos)`` in chunks of ``n_batch``; the greedy next
        token of each sequence (read right after the chunk holding its last token)."""
        flat = [(tok, pos0 + j, seq, j == len(toks) - 1) for seq, toks, pos0 in rows for j, tok in enumerate(toks)]
        nxt: dict[int, int] = {}
        for start in range(0, len(flat), self.n_batch):
            chunk = flat[start:start + self.n_batch]
            self._decode(chunk)
            for i, (_, _, seq, last) in enumerate(chunk):
                if last:
                    nxt[seq] = self._argmax(i)
        return nxt

    def run(self, token_lists: Sequence[Sequence[int]], max_new_tokens: int, hook: StepHook,
            stamp: Callable[[], None] | None = None) -> None:
        """Greedy steps for a batch of prompts that all start with ``self.head``; ``hook`` gets each
        step's tokens by row and names the rows that stop; ``stamp`` runs as each step's tokens exist."""
        self._clear_rows()
        head = len(self.head)
        rows = list(range(len(token_lists)))
        for row in rows:
            if head:
                llama_cpp.llama_memory_seq_cp(self._memory, 0, row + 1, -1, -1)
        nxt = self._prefill([(row + 1, list(token_lists[row][head:]), head) for row in rows])
        pos = {row: len(token_lists[row]) for row in rows}
        live = rows
        for step in range(max_new_tokens):
            if stamp is not None:
                stamp()
            finished = hook(step, {row: nxt[row + 1] for row in live})
            live = [row for row in live if row not in finished]
            if not live or step == max_new_tokens - 1:
                break
            nxt = self._prefill([(row + 1, [nxt[row + 1]], pos[row]) for row in live])
            for row in live:
                pos[row] += 1
        self._clear_rows()

    def timed_run(self, token_lists: Sequence[Sequence[int]], new_tokens: int,
                  timed: bool) -> tuple[int, int, list[int]]:
        """Exactly ``new_tokens`` steps per prompt, end-of-generation ignored."""
        stamps: list[int] = []
        start = time.perf_counter_ns()
        self.run(token_lists, new_tokens, lambda step, tokens: set(),
                 stamp=(lambda: stamps.append(time.perf_counter_ns())) if timed else None)
        return start, time.perf_counter_ns(), stamps

    def close(self) -> None:
        self._batch.close()
