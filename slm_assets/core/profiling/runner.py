"""Fixed-length greedy generation, timed the same way by every tracker.

Every call generates exactly ``new_tokens`` tokens per row
(``min_new_tokens == max_new_tokens``, so end-of-sequence cannot stop it early):
the work is the same across model versions and batch sizes. Timing uses
``perf_counter_ns``; on CUDA the device is synchronised before each clock read.
"""

import time
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from slm_assets.core.inference.generation import pad_token_id
from slm_assets.core.profiling.gpu import CudaOps


class StepClock(LogitsProcessor):
    """Timestamps each decoding step as its logits come out (the token stream, not an estimate)."""

    def __init__(self, sync: Any = None):
        self.stamps_ns: list[int] = []
        self._sync = sync

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self._sync is not None:
            self._sync()
        self.stamps_ns.append(time.perf_counter_ns())
        return scores


class GenerationRunner:
    """One loaded model: encode prompts once, then run timed fixed-length generations."""

    def __init__(self, model: Any, tokenizer: Any, device: Any, cuda: CudaOps | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.cuda = cuda
        self.pad_id = pad_token_id(tokenizer)
        if self.pad_id is None:
            raise ValueError("tokenizer has neither a pad nor an eos token: cannot pad batches")

    def encode(self, prompts: list[str]) -> dict[str, torch.Tensor]:
        """Left-padded batch on the model's device (decoder-only models continue on the right)."""
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        enc = self.tokenizer(list(prompts), return_tensors="pt", padding=True, padding_side="left")
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def sync(self) -> None:
        if self.cuda is not None:
            self.cuda.synchronize()

    def generate(self, encoded: dict[str, torch.Tensor], new_tokens: int, clock: StepClock | None = None) -> int:
        """Generate ``new_tokens`` per row; return the number of output tokens produced."""
        with torch.inference_mode():
            out = self.model.generate(
                **encoded,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=self.pad_id,
                logits_processor=LogitsProcessorList([clock]) if clock is not None else None,
            )
        rows, prompt_len = encoded["input_ids"].shape
        return int(rows * (out.shape[1] - prompt_len))

    def timed(self, encoded: dict[str, torch.Tensor], new_tokens: int, clock: StepClock | None = None) -> tuple[int, int, int]:
        """(start_ns, end_ns, output_tokens) of one synchronised generation."""
        self.sync()
        start = time.perf_counter_ns()
        tokens = self.generate(encoded, new_tokens, clock)
        self.sync()
        return start, time.perf_counter_ns(), tokens
