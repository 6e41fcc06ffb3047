"""``reports/leaderboard.html``: every version on the current golden set, their trends over time,
the Pareto frontier and the recommended version (see ``frontier.py``).

Built by the unpartitioned ``leaderboard`` asset, from stored artifacts and the results history.
"""

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from slm_assets.config import Settings
from slm_assets.core import layout
from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import ModelRef, RegistryError
from slm_assets.core.evaluation.metric_specs import METRICS
from slm_assets.core.io import atomic_write_text
from slm_assets.core.reporting.frontier import COST_AXES, pareto_front, recommend, recommendation_text
from slm_assets.core.reporting.history import read_history
from slm_assets.core.reporting.report import (
    all_versions, html_table, latency_distribution, load_predictions, page, per_stratum_accuracy, read_json, style_figure,
    throughput_vs_batch,
)
from slm_assets.core.reporting.trends import PRODUCTION_SERIES, Series, latest, trend_figure, trend_series

PRODUCTION_ALIAS = "production"
COLUMNS = ("key", "engine", "format", "precision", *(m.name for m in METRICS), "energy_j_per_inference", "verdict",
           "baseline", "evaluated_at")
_AXIS_TITLES = {"latency_p95_ms": "P95 latency, batch 1 (ms)", "peak_memory_mb": "peak memory (MB)",
                "cost_per_1k_requests": "cost per 1,000 requests"}


@dataclass
class Leaderboard:
    path: Path
    versions: list[dict[str, Any]]
    series: Series
    recommendations: dict[str, dict[str, Any]]
    """Per model name: ``frontier.recommend``'s result."""
    history_problems: list[str]


def production_of(settings: Settings, name: str) -> str | None:
    registry = get_registry(settings)
    try:
        return registry.resolve(name, PRODUCTION_ALIAS).key if PRODUCTION_ALIAS in registry.aliases(name) else None
    except RegistryError:
        return None


def recommendations(settings: Settings, versions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One recommendation per model name: its versions judged against its own production alias."""
    names = sorted({ModelRef.parse(v["key"]).name for v in versions})
    return {
        name: recommend([v for v in versions if ModelRef.parse(v["key"]).name == name], production_of(settings, name))
        for name in names
    }


def frontier_figure(versions: list[dict[str, Any]]) -> go.Figure | None:
    """Accuracy against each cost axis, the two-axis front drawn as a dashed red line."""
    from plotly.subplots import make_subplots

    panels = [(axis, [v for v in versions if v["accuracy"] is not None and v.get(axis) is not None]) for axis in COST_AXES]
    if not any(pts for _, pts in panels):
        return None
    fig = make_subplots(rows=1, cols=len(COST_AXES), subplot_titles=[f"accuracy vs {_AXIS_TITLES[a]}" for a in COST_AXES])
    for col, (axis, pts) in enumerate(panels, start=1):
        if not pts:
            continue
        front = sorted((pts[i] for i in pareto_front([(v[axis], v["accuracy"]) for v in pts])), key=lambda v: v[axis])
        fig.add_trace(go.Scatter(x=[v[axis] for v in pts], y=[v["accuracy"] for v in pts], mode="markers+text",
                                 text=[v["key"] for v in pts], textposition="top center", name="versions",
                                 marker=dict(size=10, color="#7f7f7f"), showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Scatter(x=[v[axis] for v in front], y=[v["accuracy"] for v in front], mode="lines+markers",
                                 name="Pareto front", line=dict(color="#d62728", dash="dash"),
                                 marker=dict(size=12, color="#d62728"), showlegend=col == 1), row=1, col=col)
        fig.update_xaxes(title_text=_AXIS_TITLES[axis], row=1, col=col)
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    return style_figure(fig, "Pareto frontier: quality against latency, memory and cost (front in red)", "", "")


def _recommendation_html(recs: dict[str, dict[str, Any]], currency: str) -> str:
    if not recs:
        return "<p class='note'>No version evaluated yet.</p>"
    parts = []
    for name, rec in recs.items():
        head = (f"<p class='verdict pass'>{html.escape(name)}: recommended {html.escape(rec['recommended'])}</p>"
                if rec["recommended"] else f"<p class='verdict regression'>{html.escape(name)}: no version qualifies</p>")
        parts.append(head + f"<pre>{html.escape(recommendation_text(rec, currency))}</pre>")
    return "".join(parts)


def write_leaderboard(settings: Settings) -> Leaderboard:
    history = read_history(settings)
    versions = all_versions(settings)
    series = trend_series(history, settings.golden.version)
    recs = recommendations(settings, versions)
    ranked = sorted(versions, key=lambda v: (-(v["accuracy"] or 0), v["latency_p95_ms"] or float("inf")))
    table = html_table(list(COLUMNS), [[v[c] for c in COLUMNS] for v in ranked], [v["verdict"] or "" for v in ranked])
    frames = {v["key"]: f for v in versions if (f := load_predictions(settings, v["key"])) is not None}
    profiles = {v["key"]: p for v in versions if (p := read_json(layout.profile_file(settings, v["key"])))}
    problems = "".join(f"<li>{html.escape(b)}</li>" for b in history.bad_lines)
    sections: list[tuple[str, str | go.Figure | None]] = [
        (f"Versions on golden set {settings.golden.version}", table),
        ("Recommendation", _recommendation_html(recs, settings.cost.currency)),
        ("Pareto frontier", frontier_figure(versions)),
        ("Trends over time (per version, and production across nightly runs)", trend_figure(series)),
        ("Accuracy per stratum", per_stratum_accuracy(frames)),
        ("Latency distribution", latency_distribution(profiles)),
        ("Throughput vs batch size", throughput_vs_batch(profiles)),
    ]
    if problems:
        sections.append(("History lines that did not parse", f"<ul>{problems}</ul>"))
    path = layout.leaderboard_file(settings)
    atomic_write_text(path, page("SLM leaderboard", sections))
    return Leaderboard(path, versions, series, recs, history.bad_lines)


def production_trend(board: Leaderboard) -> dict[str, float]:
    """The production alias's newest nightly figures (Dagster metadata: one point per materialization)."""
    return latest(board.series, PRODUCTION_SERIES)
