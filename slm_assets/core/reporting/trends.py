"""Trends over time, read from the results history: one series per version and metric, plus the
``production`` alias across nightly re-evaluations.

A point is one history row: its time and the figure it recorded. Accuracy comes from
evaluations; latency, throughput, memory, energy and cost from profiles.
"""

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from slm_assets.core.reporting.history import NIGHTLY_TRIGGER, History


@dataclass(frozen=True)
class TrendMetric:
    name: str
    kind: str  # the history kind that records it
    field: str  # its flattened key in the row's metrics
    label: str


TREND_METRICS = (
    TrendMetric("accuracy", "evaluation", "accuracy", "accuracy"),
    TrendMetric("latency_p95_ms", "profile", "summary.latency_p95_ms", "P95 latency (ms)"),
    TrendMetric("tokens_per_second", "profile", "summary.tokens_per_second", "tokens/s (best batch)"),
    TrendMetric("peak_memory_mb", "profile", "summary.peak_memory_mb", "peak memory (MB)"),
    TrendMetric("energy_j_per_inference", "profile", "summary.energy_j_per_inference", "energy (J/inference)"),
    TrendMetric("cost_per_1k_requests", "profile", "summary.cost_per_1k_requests", "cost per 1,000 requests"),
)
PRODUCTION_SERIES = "production (nightly)"

Series = dict[str, dict[str, list[tuple[str, float]]]]
"""metric name -> series label (a version key, or PRODUCTION_SERIES) -> [(recorded_at, value)]."""


def trend_series(history: History, golden_version: str) -> Series:
    out: Series = {m.name: {} for m in TREND_METRICS}
    for row in history.select(golden_version=golden_version):
        for metric in TREND_METRICS:
            value = row.get("metrics", {}).get(metric.field)
            if row.get("kind") != metric.kind or value is None:
                continue
            labels = [row["model"]] + ([PRODUCTION_SERIES] if row.get("trigger") == NIGHTLY_TRIGGER else [])
            for label in labels:
                out[metric.name].setdefault(label, []).append((row["recorded_at"], value))
    return out


def latest(series: Series, label: str) -> dict[str, float]:
    """The newest value of each metric in one series (e.g. the production alias), for metadata."""
    return {name: points[label][-1][1] for name, points in series.items() if points.get(label)}


def trend_figure(series: Series) -> go.Figure | None:
    """One panel per metric, a line per version (production's nightly series dashed)."""
    if not any(series.values()):
        return None
    fig = make_subplots(rows=3, cols=2, subplot_titles=[m.label for m in TREND_METRICS])
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    labels = sorted({label for points in series.values() for label in points})
    colour = {label: palette[i % len(palette)] for i, label in enumerate(labels)}
    for i, metric in enumerate(TREND_METRICS):
        if not series[metric.name]:
            fig.add_annotation(text="nothing recorded yet", showarrow=False, x=0.5, y=0.5, xref="x domain",
                               yref="y domain", row=i // 2 + 1, col=i % 2 + 1)
        for label, points in sorted(series[metric.name].items()):
            nightly = label == PRODUCTION_SERIES
            fig.add_trace(
                go.Scatter(
                    x=[t for t, _ in points], y=[v for _, v in points], mode="lines+markers", name=label,
                    legendgroup=label, showlegend=i == 0 or label not in _shown(series, i),
                    line=dict(color="#d62728" if nightly else colour[label], dash="dash" if nightly else "solid"),
                ),
                row=i // 2 + 1, col=i % 2 + 1,
            )
    fig.update_layout(title="Trends over time (every recorded result)", template="plotly_white", height=900,
                      margin=dict(l=60, r=20, t=70, b=40))
    return fig


def _shown(series: Series, index: int) -> set[str]:
    """Labels already in the legend from an earlier panel (one legend entry per series)."""
    return {label for m in TREND_METRICS[:index] for label in series[m.name]}


def series_metadata(series: Series) -> dict[str, Any]:
    """The series as plain JSON (Dagster metadata): ``{metric: {label: [[time, value], ...]}}``."""
    return {name: {label: [list(p) for p in points] for label, points in by_label.items()}
            for name, by_label in series.items()}
