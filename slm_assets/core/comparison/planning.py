"""How many golden examples the gate needs: the sizes behind ``slm-bench plan`` and the golden
set's size warning.

Paired accuracy (McNemar, normal approximation). With a share ``d`` of discordant pairs, a
PASS needs the interval of the difference inside the margin ``m`` when the true difference is 0:
``n >= (z_a + z_b)**2 * d / m**2``; a REGRESSION of exactly ``m`` is found when
``n >= (z_a * sqrt(d) + z_b * sqrt(d - m**2))**2 / m**2`` (Connor 1987). The plan is the larger.
"""

import math
from dataclasses import asdict, dataclass

from scipy import stats as sps

from slm_assets.config import Settings
from slm_assets.core.comparison import stats


def independent_discordance(accuracy: float) -> float:
    """Share of pairs where exactly one of two models with this accuracy is right, errors independent
    (an upper bound: a fine-tuned sibling's errors overlap its base's, so it disagrees less)."""
    return 2 * accuracy * (1 - accuracy)


def examples_needed(margin: float, discordance: float, alpha: float = 0.05, power: float = 0.8) -> int:
    if not 0 < margin < 1:
        raise ValueError(f"margin must be in (0, 1), got {margin}")
    if not 0 < discordance <= 1:
        raise ValueError(f"discordance must be in (0, 1], got {discordance}")
    z_a, z_b = float(sps.norm.ppf(1 - alpha / 2)), float(sps.norm.ppf(power))
    d = max(discordance, margin)  # a drop of m makes at least m of the pairs discordant
    to_pass = (z_a + z_b) ** 2 * d / margin**2
    to_detect = (z_a * math.sqrt(d) + z_b * math.sqrt(max(d - margin**2, 0.0))) ** 2 / margin**2
    return math.ceil(max(to_pass, to_detect))


@dataclass(frozen=True)
class Plan:
    margin: float
    accuracy: float
    discordance: float
    alpha: float
    power: float
    test_examples: int
    robustness_margin: float
    robustness_examples: int
    evaluated: int
    """golden test examples the current config evaluates (min of the split and evaluation.max_examples)."""
    evaluated_mdd: float | None
    """the smallest accuracy drop the current size detects at this power."""

    def to_dict(self) -> dict:
        return asdict(self)


def evaluated_examples(settings: Settings, test_rows: int | None = None) -> int:
    """Golden test examples an evaluation uses: the split's rows (or its configured cap) and
    ``evaluation.max_examples``."""
    rows = test_rows if test_rows is not None else (settings.golden.max_rows or {}).get("test")
    caps = [x for x in (rows, settings.evaluation.max_examples) if x is not None]
    return min(caps) if caps else 0


def plan(settings: Settings, margin: float | None = None, accuracy: float | None = None,
         discordance: float | None = None, test_rows: int | None = None) -> Plan:
    cfg = settings.comparison
    margin = margin if margin is not None else cfg.thresholds["accuracy"].max_regression
    accuracy = accuracy if accuracy is not None else cfg.expected_accuracy
    discordance = discordance or cfg.expected_discordance or independent_discordance(accuracy)
    robustness_margin = cfg.thresholds["robustness_worst_family_accuracy"].max_regression
    evaluated = evaluated_examples(settings, test_rows)
    return Plan(
        margin=margin, accuracy=accuracy, discordance=discordance, alpha=cfg.alpha, power=cfg.power,
        test_examples=examples_needed(margin, discordance, cfg.alpha, cfg.power),
        robustness_margin=robustness_margin,
        robustness_examples=examples_needed(robustness_margin, discordance, cfg.alpha, cfg.power),
        evaluated=evaluated,
        evaluated_mdd=stats.mcnemar_mdd(evaluated, round(discordance * evaluated), cfg.alpha, cfg.power),
    )


def size_warning(settings: Settings, test_rows: int) -> str | None:
    """A warning when the golden test split (as evaluated) is smaller than the gate's plan needs."""
    p = plan(settings, test_rows=test_rows)
    if p.evaluated >= p.test_examples:
        return None
    mdd = "any" if p.evaluated_mdd is None else f"{100 * p.evaluated_mdd:.1f}-point"
    return (f"the gate evaluates {p.evaluated} golden test examples but needs {p.test_examples} to tell a "
            f"{100 * p.margin:g}-point accuracy drop from noise (power {p.power:.0%}, discordance "
            f"{p.discordance:.2f}); at this size only drops of {mdd} size or more are detected "
            f"(see `slm-bench plan`)")
