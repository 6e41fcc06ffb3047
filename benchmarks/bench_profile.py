"""The profiler measuring itself: its overhead, and how repeatable its P95 is.

1. Overhead: the same batch-1 requests timed two ways, interleaved in one run (A B B A order
   so drift cancels): a bare ``perf_counter`` loop around ``model.generate``, and the
   profiler's path (the transformers engine's ``generate_fixed`` with a timestamp per step,
   the decoder that produces the evaluated answers). Target: < 1 %. The paired difference
   carries the machine's noise (and the two decoders' difference), so the instrumentation's
   own cost is also timed alone (one ``perf_counter_ns`` stamp per token): a noise-free bound
   on what the profiler adds to each request.
2. Repeatability: ``measure_latency`` run five times in a row; spread of P95 across runs.

Model: the real SmolLM2-135M-Instruct (``--model-dir`` a converted folder, else the
registry's ``smollm2-135m-instruct@base``), or ``--tiny`` for a random tiny model.
Prints a table and writes ``benchmarks/results/bench_profile.json``.

    .venv/bin/python benchmarks/bench_profile.py [--tiny] [--pairs 30] [--runs 5]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from slm_assets.config import load_settings
from slm_assets.core.evaluation.prompts import build_prompt
from slm_assets.core.inference.registry import load_engine
from slm_assets.core.inference.transformers import TransformersConfig, TransformersEngine
from slm_assets.core.profiling.environment import fingerprint
from slm_assets.core.profiling.latency import LatencyRounds, measure_latency

RESULTS = Path(__file__).resolve().parent / "results" / "bench_profile.json"
BASE_KEY = "smollm2-135m-instruct@base"
REQUESTS = [
    "I was charged twice for my subscription this month, please refund one payment",
    "Where is my order? It was supposed to arrive on Monday",
    "I forgot my password and the reset email never comes",
    "Please change the delivery address of my last order",
    "The app crashes every time I open the invoices page",
    "How do I upgrade to the business plan?",
    "Cancel my subscription at the end of this billing period",
    "I need a copy of the invoice for order 4471",
]


def resolve_model(args) -> tuple[object, str]:
    if args.tiny:
        from slm_assets.testing import build_tiny_model

        folder = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
        return TransformersEngine.load(folder, TransformersConfig(device=args.device)), "tiny random Llama"
    if args.model_dir:
        return TransformersEngine.load(args.model_dir, TransformersConfig(device=args.device)), str(args.model_dir)
    from slm_assets.core.models.registry import get_registry
    from slm_assets.core.models.versions import RegistryError

    settings = load_settings(args.config)
    try:
        version = get_registry(settings).get(BASE_KEY)
    except RegistryError as exc:
        sys.exit(f"no SmolLM2 found ({exc}); run `slm-bench import-base-model`, pass --model-dir, or use --tiny")
    return load_engine(version, device=args.device), BASE_KEY


def overhead(loaded, prompts: list[str], new_tokens: int, pairs: int) -> dict:
    rounds = LatencyRounds(loaded, prompts, new_tokens)
    encoded = [loaded.tokenizer([p], return_tensors="pt", add_special_tokens=False).to(loaded.device) for p in prompts]
    sync = torch.cuda.synchronize if str(loaded.device).startswith("cuda") else (lambda: None)

    def bare(i: int) -> float:
        sync()
        start = time.perf_counter()
        with torch.inference_mode():
            loaded.model.generate(**encoded[i % len(encoded)], max_new_tokens=new_tokens,
                                  min_new_tokens=new_tokens, do_sample=False, pad_token_id=loaded.decoder.pad_id)
        sync()
        return (time.perf_counter() - start) * 1000

    def profiled() -> float:
        return rounds.round(1, 0.0)["total_ms"][0]

    bare_ms, profiled_ms = [], []
    for i in range(pairs):
        # Both paths walk the prompts in the same order; A B then B A cancels slow drift.
        if i % 2 == 0:
            bare_ms.append(bare(i))
            profiled_ms.append(profiled())
        else:
            profiled_ms.append(profiled())
            bare_ms.append(bare(i))
    ratios = [p / b for p, b in zip(profiled_ms, bare_ms, strict=True)]
    rng = np.random.default_rng(0)
    idx = rng.integers(0, pairs, size=(2000, pairs))
    boot = np.median(np.asarray(ratios)[idx], axis=1) - 1
    return {
        "pairs": pairs,
        "bare_median_ms": statistics.median(bare_ms),
        "profiler_median_ms": statistics.median(profiled_ms),
        "overhead_median_paired": statistics.median(ratios) - 1,
        "overhead_ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
        "target": 0.01,
    }


def instrumentation_cost(loaded, new_tokens: int, bare_median_ms: float, calls: int = 20_000) -> dict:
    """What the timed window gains per request from the profiler: one step stamp per token."""
    stamps: list[int] = []
    start = time.perf_counter_ns()
    for _ in range(calls):
        stamps.append(time.perf_counter_ns())
    per_token_ns = (time.perf_counter_ns() - start) / calls
    return {
        "per_token_ns": per_token_ns,
        "per_request_ms": per_token_ns * new_tokens / 1e6,
        "share_of_bare_request": per_token_ns * new_tokens / (bare_median_ms * 1e6),
    }


def repeatability(loaded, prompts: list[str], new_tokens: int, runs: int, seconds: float) -> dict:
    p95s = []
    for r in range(runs):
        result = measure_latency(loaded, prompts, new_tokens, min_seconds=seconds, min_requests=len(prompts),
                                 repeats=1, max_dispersion=1.0)
        p95s.append(result["p95_ms"])
        print(f"  run {r + 1}/{runs}: P95 {result['p95_ms']:.1f} ms over {result['requests']} requests", flush=True)
    median = statistics.median(p95s)
    return {
        "runs": runs,
        "seconds_per_run": seconds,
        "p95_ms": p95s,
        "p95_spread": (max(p95s) - min(p95s)) / median,
        "p95_cv": statistics.stdev(p95s) / statistics.mean(p95s) if runs > 1 else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a random tiny model instead of SmolLM2")
    parser.add_argument("--model-dir", type=Path, help="a Hugging Face model folder (e.g. converted SmolLM2)")
    parser.add_argument("--config", help="config for the registry lookup (default: $SLM_CONFIG)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--new-tokens", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0, help="latency window of each repeatability run")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    loaded, which = resolve_model(args)
    settings = load_settings(args.config)
    prompts = [build_prompt(loaded, settings.task, settings.task_labels(), r) for r in REQUESTS]
    for p in prompts[:3]:  # warm-up, uncounted
        loaded.generate_fixed([p], new_tokens=args.new_tokens)
    print(f"model: {which} on {loaded.device}, {torch.get_num_threads()} threads, {args.new_tokens} new tokens")
    print(f"overhead: {args.pairs} interleaved pairs ...", flush=True)
    over = overhead(loaded, prompts, args.new_tokens, args.pairs)
    over["instrumentation"] = instrumentation_cost(loaded, args.new_tokens, over["bare_median_ms"])
    print(f"repeatability: {args.runs} runs of {args.seconds:g} s ...", flush=True)
    rep = repeatability(loaded, prompts, args.new_tokens, args.runs, args.seconds)

    rows = [
        ("bare perf_counter loop, median ms", f"{over['bare_median_ms']:.2f}"),
        ("profiler path, median ms", f"{over['profiler_median_ms']:.2f}"),
        ("profiler overhead (paired median)", f"{over['overhead_median_paired']:+.2%}"),
        ("overhead 95% bootstrap CI", f"[{over['overhead_ci95'][0]:+.2%}, {over['overhead_ci95'][1]:+.2%}]"),
        ("instrumentation alone, per token", f"{over['instrumentation']['per_token_ns'] / 1000:.1f} us"),
        ("instrumentation alone, share of a request", f"{over['instrumentation']['share_of_bare_request']:.4%}"),
        ("overhead target", "< 1 %"),
        (f"P95 over {rep['runs']} runs, ms", ", ".join(f"{x:.1f}" for x in rep["p95_ms"])),
        ("P95 spread (max-min)/median", f"{rep['p95_spread']:.1%}"),
        ("P95 coefficient of variation", f"{rep['p95_cv']:.1%}"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    env = fingerprint(str(loaded.device), None, 64) if not str(loaded.device).startswith("cuda") else {}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"model": which, "device": str(loaded.device), "new_tokens": args.new_tokens,
                                   "overhead": over, "repeatability": rep, "environment": env}, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
