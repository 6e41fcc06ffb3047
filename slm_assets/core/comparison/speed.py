"""Speed rows: candidate/baseline ratios from one interleaved side-by-side run (A B A B ...),
never against an absolute figure from another run, and when to run another round.

Each round gives one ratio per metric; the ratio's interval (``stats.ratio_interval``) narrows
as rounds add up. Rounds go on while some ratio's interval still straddles its limit, up to
``comparison.side_by_side_max_rounds``; a ratio still undecided then is INCONCLUSIVE.
"""

from typing import Any

import numpy as np

from slm_assets.config import ComparisonConfig, CostConfig
from slm_assets.core.comparison import stats
from slm_assets.core.comparison.decision import INCONCLUSIVE, Row, decide
from slm_assets.core.evaluation.metric_specs import SPEED
from slm_assets.core.profiling.cost import hardware_cost_per_1k, hourly_price

Speed = dict[str, Any]
"""``{"baseline": {metric: [per round]}, "candidate": {...}, "notes": {metric: text}}``"""


# Memory figures of one engine alone, comparable across engines (see profiling.profiler._memory).
OWN_MEMORY_METHODS = {"fresh_process", "torch_peak_allocated"}


def _per_round_tokens_per_second(result: dict[str, Any], batch_size: int | None) -> list[float]:
    batch = next((b for b in result["throughput"]["batches"] if b["batch_size"] == batch_size), None)
    if batch is None:
        best = result["summary"].get("tokens_per_second")
        return [] if best is None else [best]
    return [batch["output_tokens"] / s for s in batch["seconds"] if s > 0]


def _per_round_cost(result: dict[str, Any], batch_size: int | None, cost: CostConfig | None) -> list[float]:
    """Hardware cost per 1,000 requests of each round at ``batch_size`` (energy is not measured
    side by side; on one device the ratio is the inverse requests/s ratio)."""
    price = hourly_price(result, cost)[0] if cost is not None else None
    batch = next((b for b in result["throughput"]["batches"] if b["batch_size"] == batch_size), None)
    if price is None or batch is None:
        return []
    return [hardware_cost_per_1k(price, batch_size / s) for s in batch["seconds"] if s > 0]


def speed_from_side_by_side(baseline: dict[str, Any], candidate: dict[str, Any], cost: CostConfig | None = None) -> Speed:
    """Per-round figures of both models from ``profile_side_by_side`` (one result per model).

    Throughput (and cost, priced by ``cost``) is taken at the baseline's best batch size for
    both, so the ratio compares like with like. Memory: each engine's own measure (a fresh process
    per version on CPU, torch peak allocated on a GPU); where both sides lack one (measured in the
    shared process, or remote), the weights' size stands in, said in the row's note.
    """
    batch_size = baseline["throughput"]["best_batch_size"]
    methods = {r["summary"].get("memory_method") for r in (baseline, candidate)}
    own = methods <= OWN_MEMORY_METHODS

    def figures(result: dict[str, Any]) -> dict[str, list[float]]:
        memory = result["summary"].get("peak_memory_mb") if own else result["model"].get("size_mb")
        return {
            "latency_p95_ms": [r["p95_ms"] for r in result["latency"]["rounds"]],
            "tokens_per_second": _per_round_tokens_per_second(result, batch_size),
            "peak_memory_mb": [] if memory is None else [memory],
            "cost_per_1k_requests": _per_round_cost(result, batch_size, cost),
        }

    return {
        "baseline": figures(baseline),
        "candidate": figures(candidate),
        "notes": {
            "tokens_per_second": f"batch size {batch_size}",
            "peak_memory_mb": f"each engine's own peak ({', '.join(sorted(methods))})" if own
            else "weights size (no isolated memory figure for both sides)",
            "cost_per_1k_requests": f"hardware price at batch size {batch_size} (energy not measured side by side)"
            if cost is not None else "no cost config",
        },
    }


def speed_rows(speed: Speed | None, alpha: float) -> list[Row]:
    """One row per speed metric of the spec table: median ratio, its interval, each round's ratio."""
    rows = []
    notes = (speed or {}).get("notes", {})
    for spec in SPEED:
        metric = spec.name
        b = [x for x in (speed or {}).get("baseline", {}).get(metric, []) if x is not None]
        c = [x for x in (speed or {}).get("candidate", {}).get(metric, []) if x is not None]
        if not b or not c or np.median(b) <= 0:
            rows.append(Row(metric, float(np.median(b)) if b else None, float(np.median(c)) if c else None,
                            note=notes.get(metric, "not measured side by side")))
            continue
        mb, mc = float(np.median(b)), float(np.median(c))
        per_round = [ci / bi for bi, ci in zip(b, c, strict=False) if bi > 0]
        # A figure taken once per run (memory) is exact; a timing needs rounds to show its spread.
        interval = (per_round[0], per_round[0]) if not spec.per_round and len(per_round) == 1 \
            else stats.ratio_interval(per_round, alpha)
        rows.append(Row(metric, mb, mc, ratio=mc / mb, ci=list(interval) if interval else None, n=len(per_round),
                        note=notes.get(metric, ""),
                        extra={"test": "side_by_side_ratio", "rounds": [round(r, 6) for r in per_round]}))
    return rows


def undecided(speed: Speed, cfg: ComparisonConfig) -> list[str]:
    """Speed metrics whose ratio interval still straddles their limit (another round may decide)."""
    return [row.metric for row in speed_rows(speed, cfg.alpha)
            if decide(row, cfg.thresholds.get(row.metric), "significant_regression", cfg.alpha).status == INCONCLUSIVE]
