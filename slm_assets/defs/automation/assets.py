"""``production_drift``: recent production inputs against the frozen golden_test, and
``live_traffic_evaluation``: a version's accuracy on recent labelled production rows.

Writes ``<data_dir>/drift/production_drift.json`` (the numbers the
``golden_set_still_representative`` check and the UI show) and ``live/<name@version>/``.
"""

import dagster as dg
import pandas as pd

from slm_assets.core import layout
from slm_assets.core.automation.live import LIVE_FILE, DropTest, evaluate_live
from slm_assets.core.golden.drift import DriftReport, measure_drift
from slm_assets.core.io import atomic_write_json
from slm_assets.core.models.registry import get_registry
from slm_assets.defs.partitions import ACCELERATOR_POOL, model_versions
from slm_assets.defs.resources import ModelEngines, SlmSettings
from slm_assets.defs.tracking import track

def drift_metadata(report: DriftReport) -> dict:
    numeric = {
        "recent_rows": report.recent_rows,
        "recent_labelled_rows": report.recent_labelled_rows,
        "golden_rows": report.golden_rows,
        "length_psi": report.length_psi,
        "length_mean_ratio": report.length_mean_ratio,
        "unseen_vocabulary_share": report.unseen_vocabulary_share,
        "stratum_psi": report.stratum_psi,
    }
    if report.label_tv is not None:  # absent, not zero, when production rows carry no labels
        numeric["label_tv"] = report.label_tv
    return {
        **numeric,
        "window": f"{report.window_start or 'all rows'} .. {report.window_end or ''}",
        "breaches": "; ".join(report.breaches) or "none",
        "note": report.note or "",
    }


@dg.asset(
    group_name="automation",
    deps=["production_logs", "golden_test"],
    kinds={"python"},
    description="Recent production inputs (the last alerts.drift.window_days of production_logs) against "
    "golden_test: label shift, input length PSI and mean ratio, unseen vocabulary share, stratum PSI.",
)
def production_drift(context: dg.AssetExecutionContext, slm: SlmSettings) -> dg.MaterializeResult:
    settings = slm.get()
    report = measure_drift(settings)
    path = atomic_write_json(layout.drift_file(settings), report.to_dict())
    context.log.info(
        f"drift over {report.recent_rows} recent rows vs {report.golden_rows} golden_test rows: "
        + ("; ".join(report.breaches) or "golden set still representative")
    )
    return dg.MaterializeResult(metadata={**drift_metadata(report), "path": dg.MetadataValue.path(str(path))})


@dg.asset(
    partitions_def=model_versions,
    pool=ACCELERATOR_POOL,
    group_name="automation",
    deps=["production_logs", dg.AssetKey("model_evaluation")],
    kinds={"pytorch"},
    description="The version on the newest labelled production rows outside every golden split (alerts.live_traffic),"
    " against its golden_test accuracy: two-proportion test, 95% CI of the difference; live/<name@version>/.",
)
def live_traffic_evaluation(context: dg.AssetExecutionContext, slm: SlmSettings,
                            engines: ModelEngines) -> dg.MaterializeResult:
    settings = slm.get()
    version = get_registry(settings).get(context.partition_key)
    golden = pd.read_parquet(layout.predictions_file(settings, version.key), columns=["variant", "correct"])
    test = evaluate_live(settings, version, golden, progress=context.log.info, engines=engines.get())
    context.log.info(test.describe())
    path = layout.live_dir(settings, version.key) / LIVE_FILE
    track(context, settings, "live", test.to_dict(), [path])
    return dg.MaterializeResult(metadata=live_metadata(test, path))


def live_metadata(test: DropTest, path) -> dict:
    numbers = {"live_accuracy": test.live_accuracy, "golden_accuracy": test.golden_accuracy,
               "difference": test.difference, "p_value": test.p_value,
               "ci_low": test.ci[0] if test.ci else None, "ci_high": test.ci[1] if test.ci else None}
    meta: dict = {k: dg.MetadataValue.float(float(v)) for k, v in numbers.items() if v is not None}
    meta.update(live_rows=test.live_n, golden_rows=test.golden_n, significant_drop=test.significant_drop,
                description=test.describe(), window=dg.MetadataValue.json(test.window),
                path=dg.MetadataValue.path(str(path)))
    return meta
