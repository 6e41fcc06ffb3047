"""``baseline_comparison`` and ``evaluation_report``: the candidate against its baseline, then the HTML report."""

import dagster as dg

from slm_assets.core.comparison.render import markdown_table
from slm_assets.core.comparison.run import run_comparison
from slm_assets.core.reporting.report import version_summary, write_report
from slm_assets.defs.profiling.assets import hardware_profile
from slm_assets.defs.evaluation.assets import evaluation_metadata, model_evaluation
from slm_assets.defs.partitions import ACCELERATOR_POOL, model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.defs.tracking import track


class ComparisonRunConfig(dg.Config):
    baseline: str | None = None
    """Overrides ``comparison.baseline`` for this run: an alias, ``previous`` or ``NAME@VERSION``."""


def _numbers(values: dict) -> dict:
    return {k: dg.MetadataValue.float(float(v)) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _row_numbers(result: dict) -> dict:
    """Overall rows' deltas, ratios and p-values (per-stratum keys would flood the UI's plots)."""
    out = {}
    for row in result["rows"]:
        if "[" not in row["metric"]:
            out.update({f"{row['metric']}_{k}": row.get(k) for k in ("delta", "ratio", "p_value")})
    return out


def comparison_metadata(result: dict, path) -> dict:
    meta = {
        "verdict": dg.MetadataValue.text(result["verdict"]),
        "baseline": dg.MetadataValue.text(result["baseline"] or "none"),
        "regressions": dg.MetadataValue.text(", ".join(result["regressions"]) or "none"),
        "inconclusive": dg.MetadataValue.text(", ".join(result.get("inconclusive") or []) or "none"),
        "power": dg.MetadataValue.text((result.get("power") or {}).get("sentence") or "n/a"),
        "paired_examples": dg.MetadataValue.int(result.get("paired_examples", 0)),
        "flipped_right_to_wrong": dg.MetadataValue.int(len(result["flipped"]["right_to_wrong"])),
        "flipped_wrong_to_right": dg.MetadataValue.int(len(result["flipped"]["wrong_to_right"])),
        "table": dg.MetadataValue.md(markdown_table(result)),
        "path": dg.MetadataValue.path(str(path)),
    }
    meta.update(_numbers(_row_numbers(result)))
    return meta


@dg.asset(
    partitions_def=model_versions,
    pool=ACCELERATOR_POOL,
    group_name="comparison",
    deps=[model_evaluation, hardware_profile],
    kinds={"pytorch"},
    description="The candidate against its baseline (comparison.baseline, default the production alias): paired "
    "quality tests, side-by-side speed ratios, SLO scorecards, flipped examples; comparisons/<name@version>/comparison.json.",
)
def baseline_comparison(
    context: dg.AssetExecutionContext, config: ComparisonRunConfig, slm: SlmSettings, engines: ModelEngines
) -> dg.MaterializeResult:
    settings = slm.get()
    run = run_comparison(settings, context.partition_key, config.baseline, progress=context.log.info,
                         engines=engines.get())
    for evaluation in run.evaluated:
        # A missing or stale evaluation (usually the baseline's) was run here: record it as a
        # materialization of that version's partition, so no file appears without one behind it.
        context.log_event(dg.AssetMaterialization(
            asset_key=model_evaluation.key, partition=evaluation.metrics["model"],
            description=f"evaluated by the baseline_comparison of {context.partition_key}",
            metadata=evaluation_metadata(evaluation),
        ))
        track(context, settings, "evaluation", evaluation.metrics, [evaluation.metrics_path],
              key=evaluation.metrics["model"])
    context.log.info(f"verdict {run.result['verdict']} against {run.result['baseline']}")
    track(context, settings, "comparison", _row_numbers(run.result), [run.path],
          details={"verdict": run.result["verdict"], "baseline": run.result["baseline"]})
    return dg.MaterializeResult(metadata=comparison_metadata(run.result, run.path))


@dg.asset(
    partitions_def=model_versions,
    group_name="comparison",
    deps=[baseline_comparison],
    kinds={"html"},
    description="Self-contained HTML report of this version (reports/<name@version>/report.html); the "
    "cross-version leaderboard is its own asset.",
)
def evaluation_report(context: dg.AssetExecutionContext, slm: SlmSettings) -> dg.MaterializeResult:
    settings = slm.get()
    report = write_report(settings, context.partition_key)
    context.log.info(f"report: {report}")
    track(context, settings, "report", {}, [report])
    summary = version_summary(settings, context.partition_key) or {}
    return dg.MaterializeResult(metadata={
        **_numbers({k: v for k, v in summary.items() if k != "key"}),
        "verdict": dg.MetadataValue.text(summary.get("verdict") or "unknown"),
        "path": dg.MetadataValue.path(str(report)),
    })
