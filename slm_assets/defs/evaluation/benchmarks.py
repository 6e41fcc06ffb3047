"""``standard_benchmarks``: lm-evaluation-harness tasks (``benchmarks.tasks``) on one version, and the
blocking ``no_forgetting`` check: no significant drop against the baseline on any task.

Optional: with no task configured the asset records that and does nothing. The baseline's results
are run here when missing or stale, and recorded as a materialization of its own partition.
"""

import dagster as dg

from slm_assets.core import layout
from slm_assets.core.comparison.baseline import resolve_baseline
from slm_assets.core.comparison.forgetting import forgetting_rows
from slm_assets.core.evaluation.standard_benchmarks import FORGETTING_FILE, ensure_benchmarks, load_examples
from slm_assets.core.io import atomic_write_json
from slm_assets.core.models.registry import get_registry
from slm_assets.defs.evaluation.assets import model_evaluation
from slm_assets.defs.partitions import ACCELERATOR_POOL, model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.defs.tracking import track

no_forgetting_spec = dg.AssetCheckSpec(
    "no_forgetting", asset="standard_benchmarks", blocking=True,
    description="Fails when a standard benchmark task's main metric drops significantly (paired McNemar, "
    "benchmarks.alpha) by more than its threshold (benchmarks.max_drop) against the baseline.",
)


def _task_numbers(results: dict) -> dict:
    return {f"{task}_{t['metric']}": t["value"] for task, t in results["tasks"].items() if t["value"] is not None}


@dg.asset(
    partitions_def=model_versions,
    pool=ACCELERATOR_POOL,
    group_name="evaluation",
    deps=[model_evaluation],
    check_specs=[no_forgetting_spec],
    kinds={"pytorch"},
    description="Optional: the lm-evaluation-harness tasks of benchmarks.tasks through the version's engine; "
    "per-example results in benchmarks/<name@version>/, paired with the baseline's.",
)
def standard_benchmarks(context: dg.AssetExecutionContext, slm: SlmSettings, engines: ModelEngines):
    settings = slm.get()
    cfg = settings.benchmarks
    if not cfg.tasks:
        yield dg.AssetCheckResult(check_name="no_forgetting", passed=True, description="no benchmarks.tasks configured")
        yield dg.MaterializeResult(metadata={"tasks": "none configured (benchmarks.tasks)"})
        return
    registry = get_registry(settings)
    version = registry.get(context.partition_key)
    ran = ensure_benchmarks(settings, version, progress=context.log.info, engines=engines.get())
    if ran:
        track(context, settings, "benchmark", _task_numbers(ran), [layout.benchmarks_dir(settings, version.key)])
    base_ref = resolve_baseline(registry, version.ref, settings.comparison.baseline)
    rows = []
    if base_ref is not None and base_ref.key != version.key:
        baseline = registry.get(base_ref)
        base_ran = ensure_benchmarks(settings, baseline, progress=context.log.info, engines=engines.get())
        if base_ran:
            context.log_event(dg.AssetMaterialization(
                asset_key=context.asset_key, partition=baseline.key, metadata=_task_numbers(base_ran),
                description=f"run by the standard_benchmarks of {version.key}"))
            track(context, settings, "benchmark", _task_numbers(base_ran),
                  [layout.benchmarks_dir(settings, baseline.key)], key=baseline.key)
        rows = forgetting_rows(load_examples(settings, baseline.key), load_examples(settings, version.key), cfg)
    path = atomic_write_json(layout.benchmarks_dir(settings, version.key) / FORGETTING_FILE,
                             {"baseline": base_ref.key if base_ref else None, "rows": rows})
    regressed = [r["metric"] for r in rows if r["status"] == "regression"]
    yield dg.AssetCheckResult(
        check_name="no_forgetting", passed=not regressed,
        description=(f"significant drop against {base_ref.key} on {', '.join(regressed)}" if regressed else
                     f"no significant drop against {base_ref.key if base_ref else 'no baseline'}"),
        metadata={"rows": dg.MetadataValue.json(rows), "path": dg.MetadataValue.path(str(path))},
    )
    stored = layout.read_artifact(layout.benchmarks_dir(settings, version.key) / "results.json") or {"tasks": {}}
    yield dg.MaterializeResult(metadata={**_task_numbers(stored), "baseline": base_ref.key if base_ref else "none",
                                         "path": dg.MetadataValue.path(str(layout.benchmarks_dir(settings, version.key)))})
