"""Forgetting check: the candidate against the baseline on standard benchmark tasks, example by
example (McNemar exact on each task's per-example 0/1 main metric).

A task regresses when its main metric drops by more than its threshold
(``benchmarks.max_drop[task]``, else ``default_max_drop``) and the paired test says the drop is
real at ``benchmarks.alpha``. A fine-tune that wins on the golden set while forgetting general
ability fails here.
"""

from typing import Any

import numpy as np
import pandas as pd

from slm_assets.config import StandardBenchmarksConfig
from slm_assets.core.comparison.stats import mcnemar_exact


def forgetting_rows(baseline: pd.DataFrame | None, candidate: pd.DataFrame | None,
                    cfg: StandardBenchmarksConfig) -> list[dict[str, Any]]:
    """One row per configured task: baseline and candidate value, delta, p-value, status."""
    rows = []
    for task in cfg.tasks:
        limit = cfg.max_drop.get(task, cfg.default_max_drop)
        row: dict[str, Any] = {"metric": f"benchmark:{task}", "threshold": limit}
        if baseline is None or candidate is None:
            rows.append({**row, "status": "not_measured",
                         "note": f"no standard benchmark results for the {'baseline' if baseline is None else 'candidate'}"})
            continue
        b, c = baseline[baseline["task"] == task], candidate[candidate["task"] == task]
        metric = b["metric"].iloc[0] if len(b) else None
        paired = b[b["metric"] == metric].merge(c[c["metric"] == metric], on="doc_id", suffixes=("_b", "_c"))
        if paired.empty:
            rows.append({**row, "status": "not_measured", "note": "no example of this task in both results"})
            continue
        base, cand = paired["value_b"].to_numpy() > 0.5, paired["value_c"].to_numpy() > 0.5
        test = mcnemar_exact(base, cand)
        delta = float(np.mean(cand) - np.mean(base))
        regressed = delta < -limit and test.p_value < cfg.alpha
        rows.append({**row, "task_metric": metric, "baseline": float(np.mean(base)), "candidate": float(np.mean(cand)),
                     "delta": delta, "p_value": test.p_value, "n": len(paired),
                     "flipped_right_to_wrong": test.worsened, "flipped_wrong_to_right": test.improved,
                     "status": "regression" if regressed else "pass"})
    return rows
