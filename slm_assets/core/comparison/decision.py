"""The decision policy: one row's outcome from its interval and threshold, and the verdict.

Three outcomes per row (and for the whole comparison):
- ``pass``: the interval of the paired difference (or of the speed ratio) stays inside the margin:
  non-inferiority shown (``improvement`` when it also clears zero, or 1 for a ratio, the good way);
- ``regression``: the metric moved the wrong way beyond its threshold and the move is significant
  (under ``policy: non_inferiority``: as soon as non-inferiority is not shown);
- ``inconclusive``: neither -- the data cannot tell a drop beyond the margin from noise.
"""

from dataclasses import dataclass, field
from typing import Any

from slm_assets.config import Threshold

PASS, REGRESSION, INCONCLUSIVE, IMPROVEMENT, NA = "pass", "regression", "inconclusive", "improvement", "n/a"
# Ratios within this of 1 are equal (floating point: 16 / (16 / 100) is not exactly 100).
RATIO_TOLERANCE = 1e-6


@dataclass
class Row:
    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None = None  # candidate - baseline (absolute/relative thresholds)
    ratio: float | None = None  # candidate / baseline (ratio thresholds)
    ci: list[float] | None = None  # interval of the delta, or of the ratio
    p_value: float | None = None
    threshold: dict[str, Any] | None = None
    status: str = PASS  # pass | regression | inconclusive | improvement | n/a
    n: int | None = None
    mdd: float | None = None  # minimum detectable difference (power in the comparison's config)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "extra"}
        out.update(self.extra)
        return out


def allowed_move(threshold: Threshold, baseline: float) -> float:
    """How far the metric may move the wrong way, in the metric's units."""
    if threshold.kind == "relative":
        return threshold.max_regression * abs(baseline)
    return threshold.max_regression


def _decide_ratio(row: Row, threshold: Threshold, policy: str) -> str:
    higher = threshold.direction == "higher_is_better"
    limit = threshold.max_regression
    if not row.ci:  # one round of a timing: no spread to judge it by
        return REGRESSION if policy == "non_inferiority" else INCONCLUSIVE
    low, high = row.ci
    worst, best = (low, high) if higher else (high, low)
    beyond = (lambda x: x < limit) if higher else (lambda x: x > limit)
    if not beyond(worst):
        # An improvement only when the whole interval lies on the good side of 1.
        better = (worst > 1 + RATIO_TOLERANCE) if higher else (worst < 1 - RATIO_TOLERANCE)
        return IMPROVEMENT if better else PASS
    if beyond(best) or policy == "non_inferiority":
        return REGRESSION
    return INCONCLUSIVE


def _decide_difference(row: Row, threshold: Threshold, policy: str, alpha: float) -> str:
    higher = threshold.direction == "higher_is_better"
    allowed = allowed_move(threshold, row.baseline)
    wrong_way = -row.delta if higher else row.delta
    significant = row.p_value is not None and row.p_value < alpha
    # The interval's worst bound, as a move the wrong way.
    worst_bound = (-row.ci[0] if higher else row.ci[1]) if row.ci else wrong_way
    if worst_bound <= allowed + 1e-12:
        return IMPROVEMENT if significant and wrong_way < 0 else PASS
    if policy == "non_inferiority" or (significant and wrong_way > allowed + 1e-12):
        return REGRESSION
    return INCONCLUSIVE


def decide(row: Row, threshold: Threshold | None, policy: str, alpha: float) -> Row:
    """Set ``row.status`` (see the module doc)."""
    if row.baseline is None or row.candidate is None or (threshold is not None and threshold.kind == "ratio"
                                                         and row.ratio is None):
        row.status = NA
        return row
    if threshold is None:
        row.status = PASS
        return row
    row.threshold = threshold.model_dump()
    if threshold.kind == "ratio":
        row.status = _decide_ratio(row, threshold, policy)
    else:
        row.status = _decide_difference(row, threshold, policy, alpha)
    return row


def verdict(rows: list[Row], per_stratum_blocking: bool) -> tuple[str, list[str], list[str]]:
    """(verdict, regressions, inconclusive metrics). Per-stratum rows add regressions only (when
    blocking): at a stratum's size nearly every row is inconclusive, which says nothing new."""
    regressions = [r.metric for r in rows if r.status == REGRESSION
                   and (per_stratum_blocking or "[" not in r.metric)]
    unsure = [r.metric for r in rows if r.status == INCONCLUSIVE and "[" not in r.metric]
    return (REGRESSION if regressions else INCONCLUSIVE if unsure else PASS), regressions, unsure


def _points(value: float) -> str:
    return f"{100 * value:.1f} pts"


def power_statement(rows: list[Row], paired: int, power: float, alpha: float) -> dict[str, Any]:
    """What the gate could and could not detect at this size, per overall quality metric: a drop
    is detectable (at ``power``) when the row's minimum detectable difference is within its
    threshold; otherwise a drop between the threshold and the MDD may come out INCONCLUSIVE or PASS."""
    could, could_not = [], []
    for row in rows:
        if row.mdd is None or row.threshold is None or row.threshold["kind"] == "ratio" or "[" in row.metric:
            continue
        allowed = allowed_move(Threshold(**row.threshold), row.baseline or 0.0)
        (could if row.mdd <= allowed else could_not).append((row.metric, row.mdd, allowed))
    parts = [f"With {paired} paired examples (power {power:.0%}, alpha {alpha:g}) the gate could detect"]
    parts.append(" any drop beyond the threshold in " + ", ".join(m for m, _, _ in could) if could
                 else " no quality drop as small as its threshold")
    if could_not:
        parts.append("; it could not detect drops smaller than " + ", ".join(
            f"{m} {_points(mdd)} (threshold {_points(allowed)})" for m, mdd, allowed in could_not))
    return {
        "sentence": "".join(parts) + ".",
        "detectable": [m for m, _, _ in could],
        "minimum_detectable": {m: mdd for m, mdd, _ in could + could_not},
    }


def gate_outcome(result: dict, fail_on_inconclusive: bool) -> tuple[bool, str]:
    """Whether the gate passes, and why, from a comparison record."""
    if result["verdict"] == "no_baseline":
        return True, f"no baseline ({result['baseline_spec']!r} resolves to nothing): the first model passes"
    if result["verdict"] == "regression":
        return False, f"regression against {result['baseline']}: {', '.join(result['regressions'])}"
    if result["verdict"] == "inconclusive":
        unsure = ", ".join(result.get("inconclusive") or [])
        return not fail_on_inconclusive, f"inconclusive against {result['baseline']}: {unsure} undecided"
    return True, f"no regression against {result['baseline']}"
