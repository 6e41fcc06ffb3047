"""``leaderboard``: one unpartitioned asset across every model version (not a side effect of a version's report)."""

import dagster as dg

from slm_assets.core.reporting.leaderboard import production_trend, write_leaderboard
from slm_assets.core.reporting.trends import series_metadata
from slm_assets.defs.resources import SlmSettings


@dg.asset(
    group_name="reporting",
    deps=[dg.AssetKey("evaluation_report")],
    kinds={"html"},
    automation_condition=dg.AutomationCondition.eager(),
    description="reports/leaderboard.html: every version on the current golden set, trends over time (accuracy, "
    "P95 latency, tokens/s, peak memory, energy, cost; production across nightly runs), the Pareto frontier and "
    "the cheapest version meeting every SLO with no significant regression against production.",
)
def leaderboard(context: dg.AssetExecutionContext, slm: SlmSettings) -> dg.MaterializeResult:
    settings = slm.get()
    board = write_leaderboard(settings)
    for problem in board.history_problems:
        context.log.warning(f"history: {problem}")
    meta: dict = {
        "versions": len(board.versions),
        "path": dg.MetadataValue.path(str(board.path)),
        "trends": dg.MetadataValue.json(series_metadata(board.series)),
        "history_bad_lines": len(board.history_problems),
    }
    # Numbers: the UI plots each against this asset's materializations (production's nightly trend).
    meta.update({f"production_{k}": dg.MetadataValue.float(float(v)) for k, v in production_trend(board).items()})
    for name, rec in board.recommendations.items():
        meta[f"recommended[{name}]"] = rec["recommended"] or "none"
        meta[f"frontier[{name}]"] = ", ".join(rec["frontier"]["joint"]) or "none"
        if rec["cost_per_1k_requests"] is not None:
            meta[f"recommended_cost_per_1k_requests[{name}]"] = dg.MetadataValue.float(rec["cost_per_1k_requests"])
    context.log.info(f"leaderboard: {board.path}")
    return dg.MaterializeResult(metadata=meta)
