"""Batch-1 latency over real prompts: percentiles, time to first token, time per output token.

Requests run in rounds; percentiles pool every request of every round, and the
spread of the per-round medians says whether the figures can be trusted.
Each request is the engine's ``generate_fixed`` on one prompt: the decoder that produced the
evaluated answers. Time to first token and per output token come from its per-step timestamps,
not from dividing the total; an engine without per-token timing reports them as None.
"""

import math
import time
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

from slm_assets.core.inference.base import Engine, TimedGeneration
from slm_assets.core.profiling.noise import dispersion

PERCENTILES = (50, 90, 95, 99)


class LatencyRounds:
    """Runs latency rounds on one engine, cycling through its prompts; keeps the raw samples."""

    def __init__(self, engine: Engine, prompts: list[str], new_tokens: int):
        if not prompts:
            raise ValueError("latency needs at least one prompt")
        self.engine = engine
        self.new_tokens = new_tokens
        self.prompts = list(prompts)
        self.n_prompts = len(prompts)
        self._cursor = 0
        self.rounds: list[dict] = []

    def run_once(self, timed: bool = False) -> TimedGeneration:
        """One request on the next prompt."""
        prompt = self.prompts[self._cursor % self.n_prompts]
        self._cursor += 1
        [run] = self.engine.generate_fixed([prompt], new_tokens=self.new_tokens, timed=timed)
        return run

    def round(self, min_requests: int, min_seconds: float) -> dict:
        totals, ttfts, tpots = [], [], []
        started = time.perf_counter()
        while len(totals) < min_requests or time.perf_counter() - started < min_seconds:
            run = self.run_once(timed=True)
            stamps = run.token_ns
            totals.append((run.end_ns - run.start_ns) / 1e6)
            if stamps:
                ttfts.append((stamps[0] - run.start_ns) / 1e6)
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
        ttft_ms=float(np.median(ttfts)) if ttfts.size else None,
        ttft_p95_ms=float(np.percentile(ttfts, 95)) if ttfts.size else None,
        tpot_ms=tpot,
        decode_tokens_per_second=1000.0 / tpot if tpot else None,
        rounds=per_round,
        samples_ms=[round(float(x), 4) for x in totals],
        dispersion=dispersion([r["p50_ms"] for r in per_round], max_dispersion, "latency p50 per round"),
    )
    return result


def measure_latency(
    engine: Engine,
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
    rounds = LatencyRounds(engine, prompts, new_tokens)
    with phase("latency") if phase else nullcontext():
        for r in range(repeats):
            raw = rounds.round(max(1, math.ceil(min_requests / repeats)), min_seconds / repeats)
            if progress:
                progress(f"latency round {r + 1}/{repeats}: {len(raw['total_ms'])} requests, "
                         f"p50 {np.median(raw['total_ms']):.1f} ms")
    return rounds.summary(max_dispersion)
