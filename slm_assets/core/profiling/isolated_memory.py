"""Peak memory of one engine alone, measured in a fresh spawned process.

The profiling process's RSS holds whatever ran in it before: the evaluation, another model of a
side-by-side run, a fine-tune just finished (the candidate once showed 5 GB against 1.4 GB for
the same-size base for that reason). So on CPU, where torch keeps no allocator statistics,
the memory figure comes from a child process started with ``spawn`` (nothing inherited): it
loads the version on its engine and runs the profile's memory-bearing work -- one latency
request and each throughput batch, fixed length -- each as a phase of a ``MemoryTracker``. The
child's peak RSS is what serving the model costs (interpreter and runtime included); its RSS
once the runtime is imported but before the load is reported too (``runtime_rss_mb``), so the
model's own share (``engine_rss_mb``: weights, caches, activations) can be read.
On CUDA the engine's own accounting (torch's peak allocated) is used instead, in process.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import psutil

from slm_assets.core.profiling.memory import MB, MemoryTracker


def measure_in_fresh_process(
    version: Any, defaults: dict[str, Any] | None, prompts: list[str], latency_new_tokens: int,
    batch_sizes: list[int], throughput_new_tokens: int,
) -> dict:
    """The child's memory report (see the module docstring); raises what the child raised."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_measure, version, defaults, prompts, latency_new_tokens, batch_sizes,
                           throughput_new_tokens).result()


def _measure(version, defaults, prompts, latency_new_tokens, batch_sizes, throughput_new_tokens) -> dict:
    from slm_assets.core.inference.registry import engine_class, load_engine
    from slm_assets.core.profiling.throughput import is_out_of_memory

    engine_class(version.card.engine)  # import the runtime (torch, llama.cpp...) before the baseline
    baseline = psutil.Process().memory_info().rss
    tracker = MemoryTracker()
    oom = None
    with tracker.phase("load"):
        engine = load_engine(version, defaults=defaults)
    with engine:
        with tracker.phase("latency"):
            engine.generate_fixed(prompts[:1], new_tokens=latency_new_tokens)
        for size in sorted(set(batch_sizes)):
            try:
                with tracker.phase(f"throughput_bs{size}"):
                    engine.generate_fixed([prompts[i % len(prompts)] for i in range(size)],
                                          new_tokens=throughput_new_tokens)
            except Exception as exc:  # noqa: BLE001 - out-of-memory ends the sweep, as in the profile
                if not is_out_of_memory(exc):
                    raise
                oom = size
                break
    report = tracker.report()
    report.update(
        method="fresh_process",
        note="peak RSS of a fresh process that loaded only this version (interpreter and runtime included)",
        runtime_rss_mb=baseline / MB,
        engine_rss_mb=report["peak_rss_mb"] - baseline / MB,
        oom_batch_size=oom,
    )
    return report
