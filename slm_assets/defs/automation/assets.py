"""``production_drift``: recent production inputs against the frozen golden_test.

Writes ``<data_dir>/drift/production_drift.json`` (the numbers the
``golden_set_still_representative`` check and the UI show).
"""

import dagster as dg

from slm_assets.core import layout
from slm_assets.core.golden.drift import DriftReport, measure_drift
from slm_assets.core.io import atomic_write_json
from slm_assets.defs.resources import SlmSettings

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
