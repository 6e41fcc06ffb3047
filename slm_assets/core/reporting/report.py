"""Self-contained HTML reports: one per model version (the leaderboard is ``leaderboard.py``).

Every figure is drawn from stored artifacts (evaluations/, profiles/, comparisons/),
so each number can be traced back to a file. Plotly's JavaScript is inlined once
per page: the files open without any network.
"""

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from slm_assets.config import Settings
from slm_assets.core import layout
from slm_assets.core.comparison.artifacts import ORIGINAL
from slm_assets.core.comparison.render import change_text
from slm_assets.core.evaluation.metric_specs import metric_values
from slm_assets.core.io import atomic_write_text
from slm_assets.core.profiling.cost import cost_per_1k_requests
from slm_assets.core.reporting.frontier import pareto_front
from slm_assets.core.reporting.history import read_history
from slm_assets.core.reporting.trends import trend_figure, trend_series


def read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def version_summary(settings: Settings, key: str) -> dict[str, Any] | None:
    """Headline figures of one version on the current golden set, or None if it was never evaluated."""
    metrics_path = layout.metrics_file(settings, key)
    metrics = read_json(metrics_path)
    if metrics is None:
        return None
    profile = read_json(layout.profile_file(settings, key)) or {}
    comparison = read_json(layout.comparison_file(settings, key)) or {}
    summary = profile.get("summary", {})
    model = profile.get("model") or {}
    when = metrics.get("created_at") or datetime.fromtimestamp(metrics_path.stat().st_mtime, UTC).isoformat()
    return {
        "key": key,
        "evaluated_at": when,
        # What ran: the engine and the weights' format and precision (from the profile).
        "engine": model.get("engine"),
        "format": model.get("format"),
        "precision": model.get("precision"),
        **metric_values(metrics, summary),
        "accuracy_ci_low": metrics.get("accuracy_ci_low"),
        "accuracy_ci_high": metrics.get("accuracy_ci_high"),
        "invalid_rate": metrics.get("invalid_rate"),
        "energy_j_per_inference": summary.get("energy_j_per_inference"),
        # Recomputed with today's prices: the cost section is an assumption the user may revise.
        "cost_per_1k_requests": cost_per_1k_requests(profile, settings.cost)["cost_per_1k_requests"] if profile else None,
        "scorecard": profile.get("scorecard"),
        "verdict": comparison.get("verdict"),
        "baseline": comparison.get("baseline"),
    }


def all_versions(settings: Settings) -> list[dict[str, Any]]:
    """Every version evaluated on the current golden set, oldest evaluation first."""
    root = layout.evaluations_root(settings)
    keys = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    found = [s for s in (version_summary(settings, k) for k in keys) if s is not None]
    return sorted(found, key=lambda s: s["evaluated_at"])


# ----------------------------------------------------------------- figures


def style_figure(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y, template="plotly_white", height=380,
                      margin=dict(l=60, r=20, t=50, b=50))
    return fig


def accuracy_vs_latency(versions: list[dict[str, Any]], highlight: str | None = None) -> go.Figure | None:
    pts = [v for v in versions if v["accuracy"] is not None and v["latency_p95_ms"] is not None]
    if not pts:
        return None
    front = set(pareto_front([(v["latency_p95_ms"], v["accuracy"]) for v in pts]))
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[v["latency_p95_ms"] for v in pts], y=[v["accuracy"] for v in pts], mode="markers+text",
        text=[v["key"] for v in pts], textposition="top center", name="versions",
        marker=dict(size=[16 if v["key"] == highlight else 10 for v in pts],
                    color=["#d62728" if i in front else "#7f7f7f" for i in range(len(pts))]),
    ))
    line = sorted((pts[i] for i in front), key=lambda v: v["latency_p95_ms"])
    fig.add_trace(go.Scatter(x=[v["latency_p95_ms"] for v in line], y=[v["accuracy"] for v in line],
                             mode="lines", name="Pareto front", line=dict(color="#d62728", dash="dash")))
    return style_figure(fig, "Accuracy vs P95 latency (Pareto front in red)", "P95 latency, batch 1 (ms)", "accuracy")


def per_stratum_accuracy(frames: dict[str, pd.DataFrame]) -> go.Figure | None:
    fig = go.Figure()
    for key, preds in frames.items():
        originals = preds[preds["variant"] == ORIGINAL]
        if originals.empty or "stratum" not in originals:
            continue
        acc = originals.groupby("stratum")["correct"].mean().sort_index()
        fig.add_trace(go.Bar(x=acc.index.tolist(), y=acc.to_numpy().tolist(), name=key))
    if not fig.data:
        return None
    fig.update_layout(barmode="group")
    return style_figure(fig, "Accuracy per stratum", "stratum", "accuracy")


def latency_distribution(profiles: dict[str, dict[str, Any]]) -> go.Figure | None:
    fig = go.Figure()
    for key, profile in profiles.items():
        samples = (profile.get("latency") or {}).get("samples_ms")
        if samples:
            fig.add_trace(go.Histogram(x=samples, name=key, opacity=0.6))
    if not fig.data:
        return None
    fig.update_layout(barmode="overlay")
    return style_figure(fig, "Batch-1 latency distribution", "latency per request (ms)", "requests")


def throughput_vs_batch(profiles: dict[str, dict[str, Any]]) -> go.Figure | None:
    fig = go.Figure()
    for key, profile in profiles.items():
        batches = (profile.get("throughput") or {}).get("batches") or []
        if batches:
            fig.add_trace(go.Scatter(x=[b["batch_size"] for b in batches], y=[b["tokens_per_second"] for b in batches],
                                     mode="lines+markers", name=key))
    if not fig.data:
        return None
    fig.update_xaxes(type="log")
    return style_figure(fig, "Throughput vs batch size (fixed output length)", "batch size", "output tokens/s")


# ------------------------------------------------------------------- pages


def html_table(headers: list[str], rows: list[list[Any]], classes: list[str] | None = None) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            v = f"{v:.4g}"
        return html.escape("–" if v is None else str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr class='{(classes or [''] * len(rows))[i]}'>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def verdict_table(comparison: dict[str, Any]) -> str:
    rows, classes = [], []
    for r in comparison.get("rows", []):
        ci = None if not r.get("ci") else f"[{r['ci'][0]:.4g}, {r['ci'][1]:.4g}]"
        th = r.get("threshold")
        th_text = None if not th else f"{th['kind']} {th['max_regression']:g} ({th['direction']})"
        rows.append([r["metric"], r.get("baseline"), r.get("candidate"), change_text(r), ci, r.get("p_value"),
                     r.get("mdd"), th_text, r["status"], r.get("note")])
        classes.append(r["status"].replace("/", ""))
    headers = ["metric", "baseline", "candidate", "delta / ratio", "interval", "p", "MDD", "threshold", "status", "note"]
    return html_table(headers, rows, classes)


def _rounds_table(comparison: dict[str, Any]) -> str:
    """Each side-by-side round's candidate/baseline ratio, per speed metric."""
    speed = [r for r in comparison.get("rows", []) if r.get("rounds")]
    if not speed:
        return "<p>No side-by-side rounds (no baseline, or the candidate is the baseline).</p>"
    width = max(len(r["rounds"]) for r in speed)
    return html_table(["metric", *(f"round {i + 1}" for i in range(width)), "interval", "status"],
                  [[r["metric"], *(f"×{x:.3f}" for x in r["rounds"]), *[None] * (width - len(r["rounds"])),
                    None if not r.get("ci") else f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]", r["status"]]
                   for r in speed])


def _scorecard_table(scorecard: Any) -> str:
    if not scorecard:
        return "<p>No scorecard (profile missing).</p>"
    return html_table(["SLO", "value", "target", "status", "note"],
                  [[s.get("name"), s.get("value"), f"{s.get('op')} {s.get('target')} {s.get('unit')}", s.get("status"), s.get("note")]
                   for s in scorecard])


def _flips_table(flips: list[dict[str, Any]]) -> str:
    if not flips:
        return "<p>None.</p>"
    return html_table(["example_id", "stratum", "reference", "baseline", "candidate", "input"],
                  [[f["example_id"], f.get("stratum"), f.get("reference"), f.get("baseline_prediction"),
                    f.get("candidate_prediction"), f.get("input")] for f in flips])


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2} tr.regression td{background:#fde0e0} tr.improvement td{background:#e2f5e2} tr.inconclusive td{background:#fff4d6}
.verdict{font-size:20px;font-weight:600} .pass,.no_baseline{color:#1a7f37} .regression{color:#c62828} .inconclusive{color:#a86b00}
.fig{border:1px solid #eee;margin:12px 0} .note{color:#666}
"""


def page(title: str, sections: list[tuple[str, str | go.Figure | None]]) -> str:
    parts, js_done = [], False
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(content, go.Figure):
            # Plotly's JS once per page, inlined: the file must open offline.
            parts.append(f"<div class='fig'>{content.to_html(full_html=False, include_plotlyjs=not js_done)}</div>")
            js_done = True
        elif content is None:
            parts.append("<p class='note'>Not available: the artifacts it needs are missing.</p>")
        else:
            parts.append(content)
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class='note'>Generated {generated} from the stored artifacts.</p>{''.join(parts)}</body></html>")


def _engines_table(comparison: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> str | None:
    """Engine, format and precision of each side (they may differ: a cross-engine gate), from the
    side-by-side rounds, else from the version's profile."""
    cols, rows = ["engine", "format", "precision"], []
    for role in ("candidate", "baseline"):
        key = comparison.get(role)
        facts = (comparison.get("side_by_side") or {}).get(role) or (profiles.get(key) or {}).get("model")
        if key and facts:
            rows.append([role, key, *[facts.get(c) for c in cols]])
    return html_table(["side", "version", *cols], rows) if rows else None


def load_predictions(settings: Settings, key: str) -> pd.DataFrame | None:
    path = layout.predictions_file(settings, key)
    return pd.read_parquet(path, columns=["example_id", "stratum", "variant", "correct"]) if path.is_file() else None


def write_report(settings: Settings, key: str) -> Path:
    """reports/<key>/report.html for one candidate: its comparison, scorecards and figures."""
    comparison = read_json(layout.comparison_file(settings, key))
    if comparison is None:
        raise FileNotFoundError(f"{layout.comparison_file(settings, key)}: missing; materialize baseline_comparison first")
    keys = [key] + ([comparison["baseline"]] if comparison.get("baseline") and comparison["baseline"] != key else [])
    frames = {k: f for k in keys if (f := load_predictions(settings, k)) is not None}
    profiles = {k: p for k in keys if (p := read_json(layout.profile_file(settings, k)))}
    versions = all_versions(settings)
    verdict = comparison["verdict"]
    flips = comparison.get("flipped", {})
    head = (f"<p class='verdict {verdict}'>Verdict: {html.escape(verdict.upper())}</p>"
            f"<p>Candidate <b>{html.escape(key)}</b> against baseline <b>{html.escape(str(comparison.get('baseline')))}</b> "
            f"on golden set {html.escape(str(comparison.get('golden_version')))}, policy {html.escape(comparison['policy'])}, "
            f"alpha {comparison['alpha']}, {comparison.get('paired_examples', 0)} paired examples.</p>"
            f"<p>{html.escape((comparison.get('power') or {}).get('sentence') or '')}</p>")
    sections: list[tuple[str, str | go.Figure | None]] = [
        ("Verdict", head + verdict_table(comparison)),
        (f"Side-by-side rounds ({comparison.get('side_by_side_rounds') or 0})", _rounds_table(comparison)),
        ("What ran", _engines_table(comparison, profiles)),
        ("SLO scorecard: candidate", _scorecard_table(comparison.get("scorecards", {}).get("candidate"))),
        ("SLO scorecard: baseline", _scorecard_table(comparison.get("scorecards", {}).get("baseline"))),
        ("Accuracy vs latency across versions", accuracy_vs_latency(versions, highlight=key)),
        ("Accuracy per stratum", per_stratum_accuracy(frames)),
        ("Latency distribution", latency_distribution(profiles)),
        ("Throughput vs batch size", throughput_vs_batch(profiles)),
        ("Trends over time", trend_figure(trend_series(read_history(settings), settings.golden.version))),
        (f"Flipped right → wrong ({len(flips.get('right_to_wrong', []))})", _flips_table(flips.get("right_to_wrong", []))),
        (f"Flipped wrong → right ({len(flips.get('wrong_to_right', []))})", _flips_table(flips.get("wrong_to_right", []))),
    ]
    path = layout.report_file(settings, key)
    atomic_write_text(path, page(f"Evaluation report: {key}", sections))
    return path
