"""Output tokens/s and requests/s per batch size, at a fixed output length, up to the first OOM.

A batch is the engine's ``generate_fixed`` over that many prompts: one padded batch in process,
that many concurrent requests for a server (``capabilities.batch_is_concurrency``; the sizes
are then concurrency levels). Either way the run lasts from the first start to the last end.
"""

import gc
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from slm_assets.core.inference.base import BatchTooLargeError, Engine
from slm_assets.core.profiling.noise import dispersion

_WARMUP_TOKENS = 2


def is_out_of_memory(exc: BaseException) -> bool:
    """Out of memory, or a batch the engine's KV cache cannot hold: the sweep ends at that size."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError | BatchTooLargeError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def timed_batch(engine: Engine, prompts: list[str], new_tokens: int) -> tuple[int, int, int]:
    """(start_ns, end_ns, output tokens) of one fixed-length generation of ``prompts``."""
    runs = engine.generate_fixed(prompts, new_tokens=new_tokens)
    return min(r.start_ns for r in runs), max(r.end_ns for r in runs), sum(r.output_tokens for r in runs)


def measure_throughput(
    engine: Engine,
    prompts: list[str],
    batch_sizes: list[int],
    new_tokens: int,
    repeats: int,
    max_dispersion: float,
    phase: Callable | None = None,
    progress: Callable[[str], None] | None = None,
    free_memory: Callable[[], None] | None = None,
) -> dict:
    """For each batch size (ascending), a short untimed warm-up then ``repeats`` timed runs.

    The first out-of-memory stops the sweep; it is recorded, not raised (then ``free_memory``,
    e.g. emptying the CUDA cache).
    """
    if not prompts:
        raise ValueError("throughput needs at least one prompt")
    runs: list[dict] = []
    oom = None
    for size in sorted(set(batch_sizes)):
        batch = [prompts[i % len(prompts)] for i in range(size)]
        try:
            with phase(f"throughput_bs{size}") if phase else nullcontext():
                engine.generate_fixed(batch, new_tokens=_WARMUP_TOKENS)
                seconds, tokens = [], 0
                for _ in range(repeats):
                    start, end, tokens = timed_batch(engine, batch, new_tokens)
                    seconds.append((end - start) / 1e9)
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is recorded; anything else re-raised
            if not is_out_of_memory(exc):
                raise
            oom = {"batch_size": size, "error": f"{type(exc).__name__}: {exc}"[:500]}
            gc.collect()
            if free_memory is not None:
                free_memory()
            if progress:
                progress(f"throughput: batch {size} does not fit ({oom['error']}); sweep stopped")
            break
        runs.append({"batch_size": size, "output_tokens": tokens, "seconds": seconds})
        if progress:
            progress(f"throughput batch {size}: {tokens / float(np.median(seconds)):.1f} tokens/s")
    result = summarize_throughput(runs, oom, new_tokens, max_dispersion)
    result["batch_is_concurrency"] = engine.capabilities.batch_is_concurrency
    return result


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
    merged = summarize_throughput(runs, oom, results[0]["new_tokens"], max_dispersion)
    merged["batch_is_concurrency"] = results[0].get("batch_is_concurrency", False)
    return merged
