"""Candidate against baseline: quality rows, speed rows, the decision per row, one verdict.

Quality metrics are recomputed from both models' per-example predictions on the same golden
examples, so every delta is paired (``quality``). Speed and memory come from one side-by-side run
of both models, compared as candidate/baseline ratios (``speed``). Each row is decided PASS,
REGRESSION or INCONCLUSIVE (``decision``); the record says what the gate could detect at its size.
"""

from datetime import UTC, datetime
from typing import Any

from slm_assets.config import Settings
from slm_assets.core.comparison.artifacts import ComparisonError, EvaluationArtifacts
from slm_assets.core.comparison.decision import NA, Row, decide, power_statement, verdict
from slm_assets.core.comparison.quality import flipped, paired_originals, quality_rows, stratum_rows
from slm_assets.core.comparison.speed import Speed, speed_rows
from slm_assets.core.evaluation.metric_specs import QUALITY, STRATUM_ACCURACY


def _check_comparable(base: EvaluationArtifacts, cand: EvaluationArtifacts) -> None:
    for key, what in (("golden_version", "golden-set versions"), ("task_hash", "task configurations")):
        vb, vc = base.metrics.get(key), cand.metrics.get(key)
        if vb != vc:
            raise ComparisonError(
                f"cannot compare {cand.key} with {base.key}: different {what} ({key} {vc!r} vs {vb!r}); "
                f"evaluate both on the same golden set and task config"
            )


def compare(
    baseline: EvaluationArtifacts | None,
    candidate: EvaluationArtifacts,
    speed: Speed | None,
    settings: Settings,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The comparison record written to comparisons/<key>/comparison.json (see README for fields)."""
    cfg = settings.comparison
    result: dict[str, Any] = {
        "candidate": candidate.key,
        "baseline": baseline.key if baseline else None,
        "baseline_spec": cfg.baseline,
        "golden_version": candidate.metrics.get("golden_version"),
        "task_hash": candidate.metrics.get("task_hash"),
        "policy": cfg.policy,
        "alpha": cfg.alpha,
        "created_at": datetime.now(UTC).isoformat(),
        "scorecards": {"baseline": baseline.scorecard if baseline else None, "candidate": candidate.scorecard},
    }
    if baseline is None:
        rows = [Row(m.name, None, candidate.metrics.get(m.name), status=NA, note="no baseline") for m in QUALITY]
        return {**result, "verdict": "no_baseline", "rows": [r.to_dict() for r in rows], "regressions": [],
                "inconclusive": [], "paired_examples": 0, "unpaired": {}, "power": None,
                "flipped": {"right_to_wrong": [], "wrong_to_right": []}}
    _check_comparable(baseline, candidate)
    paired, unpaired = paired_originals(baseline, candidate)
    thresholds = cfg.thresholds
    rows = [decide(row, thresholds.get(row.metric), cfg.policy, cfg.alpha)
            for row in quality_rows(paired, baseline, candidate, cfg) + speed_rows(speed, cfg.alpha)]
    stratum_threshold = thresholds.get(STRATUM_ACCURACY, thresholds.get("accuracy"))
    rows += [decide(row, stratum_threshold, cfg.policy, cfg.alpha) for row in stratum_rows(paired, cfg)]
    outcome, regressions, unsure = verdict(rows, cfg.per_stratum_blocking)
    return {
        **result,
        "verdict": outcome,
        "rows": [r.to_dict() for r in rows],
        "regressions": regressions,
        "inconclusive": unsure,
        "paired_examples": len(paired),
        "power": power_statement(rows, len(paired), cfg.power, cfg.alpha),
        "side_by_side_rounds": (speed or {}).get("rounds"),
        "unpaired": unpaired,
        "flipped": flipped(paired, inputs),
    }
