"""Batch-1 latency over real prompts: percentiles, time to first token, time per output token.

Requests run in rounds; percentiles pool every request of every round, and the
spread of the per-round medians says whether the figures can be trusted.
Time to first token and per output token come from per-step timestamps
(:class:`StepClock`), not from dividing the total.
"""

import math
import time
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from slm_assets.core.profiling.noise import dispersion
from slm_assets.core.profiling.runner import GenerationRunner, StepClock

PERCENTILES = (50, 90, 95, 99)


class LatencyRounds:
    """Runs latency rounds on one model, cycling through its prompts; keeps the raw samples."""

    def __init__(self, runner: GenerationRunner, prompts: list[str], new_tokens: int):
        if not prompts:
            raise ValueError("latency needs at least one prompt")
        self.runner = runner
        self.new_tokens = new_tokens
        self.n_prompts = len(prompts)
        self._encoded = [runner.encode([p]) for p in prompts]
        self._cursor = 0
        self.rounds: list[dict] = []

    def run_once(self, clock: StepClock | None = None) -> tuple[int, int]:
        """One request on the next prompt: (start_ns, end_ns)."""
        encoded = self._encoded[self._cursor % len(self._encoded)]
        self._cursor += 1
        start, end, _ = self.runner.timed(encoded, self.new_tokens, clock)
        return start, end

    def round(self, min_requests: int, min_seconds: float) -> dict:
        totals, ttfts, tpots = [], [], []
        sync = self.runner.sync if self.runner.cuda is not None else None
        started = time.perf_counter()
        while len(totals) < min_requests or time.perf_counter() - started < min_seconds:
            clock = StepClock(sync)
            start, end = self.run_once(clock)
            stamps = clock.stamps_ns
            totals.append((end - start) / 1e6)
            ttfts.append((stamps[0] - start) / 1e6)
            if len(stamps) > 1:
                tpots.append((stamps[-1] - stamps[0]) / 1e6 / (len(stamps) - 1))
        raw = {"total_ms": totals, "ttft_ms": ttfts, "tpot_ms": tpots}
        self.rounds.append(raw)
        return raw

    def summary(self, max_dispersion: float) -> dict:
        return summarize_latency(self.rounds, self.new_tokens, self.n_prompts, max_dispersion)


def summarize_latency(rounds: list[dict], new_tokens: int, n_prompts: int, max_dispersion: float) -> dict:
    totals = np.concatenate([r["total_ms"] for r in rounds])
    ttfts = np.concatenate([r["ttft_ms"] for r in rounds])
    tpots = np.concatenate([r["tpot_ms"] for r in rounds])
    per_round = [{"requests": len(r["total_ms"]), "p50_ms": float(np.median(r["total_ms"])),
                  "p95_ms": float(np.percentile(r["total_ms"], 95))} for r in rounds]
    result = {f"p{p}_ms": float(np.percentile(totals, p)) for p in PERCENTILES}
    tpot = float(np.median(tpots)) if tpots.size else None
    result.update(
        mean_ms=float(totals.mean()),
        std_ms=float(totals.std(ddof=1)) if totals.size > 1 else 0.0,
        requests=int(totals.size),
        new_tokens=new_tokens,
        distinct_prompts=min(n_prompts, int(totals.size)),
        ttft_ms=float(np.median(ttfts)),
        ttft_p95_ms=float(np.percentile(ttfts, 95)),
        tpot_ms=tpot,
        decode_tokens_per_second=1000.0 / tpot if tpot else None,
        rounds=per_round,
        samples_ms=[round(float(x), 4) for x in totals],
        dispersion=dispersion([r["p50_ms"] for r in per_round], max_dispersion, "latency p50 per round"),
    )
    return result


def measure_latency(
    runner: GenerationRunner,
    prompts: list[str],
    new_tokens: int,
    min_seconds: float,
    min_requests: int,
    repeats: int,
    max_dispersion: float,
    phase: Callable | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """At least ``min_requests`` batch-1 requests over at least ``min_seconds``, in ``repeats`` rounds."""
    rounds = LatencyRounds(runner, prompts, new_tokens)
    with phase("latency") if phase else nullcontext():
        for r in range(repeats):
            raw = rounds.round(max(1, math.ceil(min_requests / repeats)), min_seconds / repeats)
            if progress:
                progress(f"latency round {r + 1}/{repeats}: {len(raw['total_ms'])} requests, "
                         f"p50 {np.median(raw['total_ms']):.1f} ms")
    return rounds.summary(max_dispersion)
