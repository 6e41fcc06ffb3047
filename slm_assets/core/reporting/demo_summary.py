"""The demo's closing summary: baseline vs candidate figures read back from the stored artifacts.

Every number comes from a file the pipeline wrote (metrics.json, profile.json,
comparison.json), so what the summary prints can be traced and re-read later.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from slm_assets.config import Settings
from slm_assets.core import layout
from slm_assets.core.evaluation.metric_specs import METRICS
from slm_assets.core.profiling.cost import cost_per_1k_requests, describe

# (label, source file, key, format): the figures the summary shows, in order -- every declared
# metric but the robustness consistency and memory, plus energy (reported, not gated).
FIGURES = (
    *((m.label, m.source, m.name, m.fmt) for m in METRICS if m.name not in ("robustness_consistency", "peak_memory_mb")),
    ("energy/inference (J)", "profile", "energy_j_per_inference", "{:.3f}"),
)
# The profiles above were taken at different times; the gate judges speed on interleaved runs instead.
SPEED_NOTE = ("Speed ratios (xN, candidate over baseline) come from the side-by-side A-B rounds,"
              " not from the two profiles.")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def version_figures(settings: Settings, key: str) -> dict[str, object]:
    """The summary figures of one version (None where its evaluation or profile is missing)."""
    metrics = _read_json(layout.metrics_file(settings, key)) or {}
    profile = _read_json(layout.profile_file(settings, key)) or {}
    sources = {"metrics": metrics, "profile": profile.get("summary") or {}}
    figures: dict[str, object] = {label: sources[src].get(field) for label, src, field, _ in FIGURES}
    figures["robustness worst family name"] = metrics.get("robustness_worst_family")
    figures["energy method"] = (profile.get("summary") or {}).get("energy_method")
    if profile:  # today's prices (an assumption the user may have revised since the profile)
        cost = cost_per_1k_requests(profile, settings.cost)
        figures["cost per 1,000 requests"] = cost["cost_per_1k_requests"]
        figures["cost inputs"] = describe(cost)
    return figures


def _cell(value: object, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def _gate_cell(row: dict | None) -> str:
    """The comparison's decision on one metric: status and delta (quality) or side-by-side ratio (speed)."""
    if row is None:
        return "-"
    if row.get("ratio") is not None:
        return f"{row['status']} (x{row['ratio']:.2f})"
    if row.get("delta") is not None:
        return f"{row['status']} ({row['delta']:+.3f})"
    return str(row["status"])


def figures_table(columns: dict[str, dict[str, object]], comparison_rows: list[dict] | None = None) -> str:
    """A plain-text table: one row per figure, one column per version (``{title: figures}``),
    plus the comparison's decision per metric when ``comparison_rows`` is given."""
    decided = {r["metric"]: r for r in comparison_rows or []}
    header = ["metric", *columns] + (["comparison"] if comparison_rows is not None else [])
    rows = [header]
    for label, _, field, fmt in FIGURES:
        cells = [label, *(_cell(figs.get(label), fmt) for figs in columns.values())]
        if comparison_rows is not None:
            cells.append(_gate_cell(decided.get(field)))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass
class DemoSummary:
    baseline: str
    candidate: str
    verdict: str
    regressions: list[str]
    table: str
    report: Path
    leaderboard: Path
    energy_method: str | None
    costs: dict[str, str]
    """Per version: its cost per 1,000 requests with the inputs (prices are config assumptions)."""

    def render(self, stage_seconds: dict[str, float], cpu_seconds: dict[str, float]) -> str:
        width = max(map(len, [*stage_seconds, "total"]))
        timing = "\n".join(f"  {name:<{width}} {secs:7.1f} s  (CPU {cpu_seconds.get(name, 0.0):7.1f} s)"
                           for name, secs in stage_seconds.items())
        total, total_cpu = sum(stage_seconds.values()), sum(cpu_seconds.values())
        why = f" ({'; '.join(self.regressions)})" if self.regressions else ""
        energy = f"\nEnergy per inference: method {self.energy_method!r} (see the report)." if self.energy_method else ""
        return (
            f"\n=== Demo summary: {self.candidate} vs {self.baseline} ===\n\n{self.table}\n{SPEED_NOTE}{energy}\n"
            + "\nCost per 1,000 requests (prices: the cost config section, assumptions):\n"
            + "".join(f"  {key}: {text}\n" for key, text in self.costs.items())
            + f"\nVerdict: {self.verdict.upper()}{why}\n"
            f"Report:      {self.report}\nLeaderboard: {self.leaderboard}\n"
            f"\nStage times (wall, CPU of this process):\n{timing}\n  {'total':<{width}} {total:7.1f} s  (CPU {total_cpu:7.1f} s)\n"
            "\nRun `make ui` (Dagster on http://127.0.0.1:3000) to see the assets, checks and runs.\n"
        )


def demo_summary(settings: Settings, candidate: str, baseline: str) -> DemoSummary:
    """The summary of the candidate's comparison with its baseline, from the stored files
    (``baseline`` is shown when the comparison names none)."""
    comparison = _read_json(layout.comparison_file(settings, candidate)) or {}
    baseline = comparison.get("baseline") or baseline
    base_figs, cand_figs = version_figures(settings, baseline), version_figures(settings, candidate)
    table = figures_table(
        {f"baseline {baseline}": base_figs, f"candidate {candidate}": cand_figs}, comparison.get("rows") or []
    )
    return DemoSummary(
        baseline=baseline,
        candidate=candidate,
        verdict=comparison.get("verdict", "missing"),
        regressions=[str(r) for r in comparison.get("regressions") or []],
        table=table,
        report=layout.report_file(settings, candidate),
        leaderboard=layout.leaderboard_file(settings),
        energy_method=cand_figs.get("energy method"),
        costs={key: str(figs.get("cost inputs") or "n/a (no profile)") for key, figs in
               ((baseline, base_figs), (candidate, cand_figs))},
    )
