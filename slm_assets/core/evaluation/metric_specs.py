"""Every gated metric declared once: what it means, which way is better, its default threshold,
how the gate compares it, and how it is shown.

Evaluation metadata, ``comparison.thresholds`` defaults and validation, the comparison's rows,
the report's tables, the leaderboard and the demo summary all read :data:`METRICS`. Adding a
gated metric: compute it in ``metrics.py`` (quality) or the profiler's summary (speed), add a
``MetricSpec`` here, and -- for a new comparison kind only -- a row builder in ``core.comparison``.
"""

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher_is_better", "lower_is_better"]
Comparison = Literal["paired_binary", "bootstrap", "ratio"]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    unit: str
    direction: Direction
    comparison: Comparison
    """paired_binary: McNemar exact on per-example 0/1 outcomes; bootstrap: paired bootstrap of
    the metric's difference; ratio: candidate/baseline over interleaved side-by-side rounds."""
    threshold_kind: Literal["absolute", "relative", "ratio"]
    max_regression: float
    """Default threshold: a difference (absolute), a fraction of the baseline (relative) or a
    candidate/baseline bound (ratio)."""
    source: Literal["metrics", "profile"]
    """metrics.json (quality) or profile.json's ``summary`` (speed, memory)."""
    fmt: str = "{:.3f}"
    per_round: bool = True
    """Ratio metrics: measured in every side-by-side round (timings); False: one figure per run
    (memory), taken as exact."""

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher_is_better"

    def format(self, value: float | None) -> str:
        return "n/a" if value is None else self.fmt.format(value)


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("accuracy", "accuracy", "fraction", "higher_is_better", "paired_binary", "absolute", 0.02, "metrics"),
    MetricSpec("macro_f1", "macro-F1", "fraction", "higher_is_better", "bootstrap", "absolute", 0.03, "metrics"),
    MetricSpec("hallucination_rate", "hallucination rate", "fraction", "lower_is_better", "paired_binary",
               "absolute", 0.01, "metrics"),
    MetricSpec("robustness_worst_family_accuracy", "robustness worst family", "fraction", "higher_is_better",
               "bootstrap", "absolute", 0.05, "metrics"),
    MetricSpec("robustness_consistency", "robustness consistency", "fraction", "higher_is_better", "paired_binary",
               "absolute", 0.05, "metrics"),
    MetricSpec("latency_p95_ms", "P95 latency (ms)", "ms", "lower_is_better", "ratio", "ratio", 1.25, "profile",
               "{:.1f}"),
    MetricSpec("tokens_per_second", "tokens/s (best batch)", "tokens/s", "higher_is_better", "ratio", "ratio", 0.8,
               "profile", "{:.1f}"),
    MetricSpec("peak_memory_mb", "peak memory (MB)", "MB", "lower_is_better", "ratio", "ratio", 1.2, "profile",
               "{:.1f}", per_round=False),
    # Priced with the `cost` config section (assumptions); per round from the side-by-side throughput.
    MetricSpec("cost_per_1k_requests", "cost per 1,000 requests", "currency", "lower_is_better", "ratio", "ratio",
               1.25, "profile", "{:.4g}"),
)
BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}
QUALITY = tuple(m for m in METRICS if m.source == "metrics")
SPEED = tuple(m for m in METRICS if m.comparison == "ratio")

STRATUM_ACCURACY = "stratum_accuracy"
"""Threshold name of the per-stratum accuracy rows (defaults to ``accuracy``'s threshold)."""
THRESHOLD_NAMES = (*BY_NAME, STRATUM_ACCURACY)


def spec_for(metric: str) -> MetricSpec | None:
    """The spec of a comparison row's metric (``accuracy[stratum]`` rows are accuracy)."""
    return BY_NAME.get(metric.split("[", 1)[0])


def metric_values(metrics: dict, profile_summary: dict | None = None) -> dict[str, float | None]:
    """Every declared metric's value from metrics.json (and a profile's ``summary``)."""
    sources = {"metrics": metrics, "profile": profile_summary or {}}
    return {m.name: sources[m.source].get(m.name) for m in METRICS}
