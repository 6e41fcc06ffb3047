"""Output tokens/s and requests/s per batch size, at a fixed output length, up to the first OOM."""

import gc
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from slm_assets.core.profiling.noise import dispersion
from slm_assets.core.profiling.runner import GenerationRunner

_WARMUP_TOKENS = 2


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def measure_throughput(
    runner: GenerationRunner,
    prompts: list[str],
    batch_sizes: list[int],
    new_tokens: int,
    repeats: int,
    max_dispersion: float,
    phase: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """For each batch size (ascending), a short untimed warm-up then ``repeats`` timed runs.

    The first out-of-memory stops the sweep; it is recorded, not raised.
    """
    if not prompts:
        raise ValueError("throughput needs at least one prompt")
    runs: list[dict] = []
    oom = None
    for size in sorted(set(batch_sizes)):
        batch = [prompts[i % len(prompts)] for i in range(size)]
        try:
            with phase(f"throughput_bs{size}") if phase else nullcontext():
                encoded = runner.encode(batch)
                runner.generate(encoded, _WARMUP_TOKENS)
                seconds, tokens = [], 0
                for _ in range(repeats):
                    start, end, tokens = runner.timed(encoded, new_tokens)
                    seconds.append((end - start) / 1e9)
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is recorded; anything else re-raised
            if not is_out_of_memory(exc):
                raise
            oom = {"batch_size": size, "error": f"{type(exc).__name__}: {exc}"[:500]}
            encoded = None
            gc.collect()
            if runner.cuda is not None:
                runner.cuda.empty_cache()
            if progress:
                progress(f"throughput: out of memory at batch {size}; sweep stopped")
            break
        runs.append({"batch_size": size, "output_tokens": tokens, "seconds": seconds})
        if progress:
            progress(f"throughput batch {size}: {tokens / float(np.median(seconds)):.1f} tokens/s")
    return summarize_throughput(runs, oom, new_tokens, max_dispersion)


def summarize_throughput(runs: list[dict], oom: dict | None, new_tokens: int, max_dispersion: float) -> dict:
    """``runs``: one entry per batch size with its output tokens per run and the seconds of each run."""
    batches = []
    for run in runs:
        size, tokens, seconds = run["batch_size"], run["output_tokens"], run["seconds"]
        rates = [tokens / s for s in seconds]
        batches.append({
            "batch_size": size,
            "output_tokens": tokens,
            "seconds": seconds,
            "tokens_per_second": float(np.median(rates)),
            "requests_per_second": float(np.median([size / s for s in seconds])),
            "dispersion": dispersion(rates, max_dispersion, f"tokens/s at batch {size}"),
        })
    best = max(batches, key=lambda b: b["tokens_per_second"]) if batches else None
    return {
        "new_tokens": new_tokens,
        "batches": batches,
        "oom": oom,
        "best_batch_size": best["batch_size"] if best else None,
        "best_tokens_per_second": best["tokens_per_second"] if best else None,
    }


def merge_throughput(results: list[dict], max_dispersion: float) -> dict:
    """Pool the runs of several sweeps of one model (side-by-side rounds)."""
    pooled: dict[int, dict] = {}
    for result in results:
        for b in result["batches"]:
            entry = pooled.setdefault(b["batch_size"], {"batch_size": b["batch_size"],
                                                        "output_tokens": b["output_tokens"], "seconds": []})
            entry["seconds"].extend(b["seconds"])
    oom = next((r["oom"] for r in results if r["oom"]), None)
    runs = [pooled[k] for k in sorted(pooled) if oom is None or k < oom["batch_size"]]
    return summarize_throughput(runs, oom, results[0]["new_tokens"], max_dispersion)
