"""Warning checks of the automation stage.

- ``golden_set_still_representative`` on ``production_drift``: WARN when recent
  production inputs drifted past a threshold, i.e. the golden set should get a
  new version (``golden.version``).
- ``answers_unchanged`` on ``model_evaluation`` (per model version): WARN when a
  re-evaluation of the same model on the same golden set gave different answers
  than the previous evaluation (see ``core/nightly.py``). It runs after every
  evaluation, the nightly one included, and keeps the history it compares with.
- ``live_accuracy_holds`` on ``live_traffic_evaluation``: WARN when the version's accuracy on
  recent labelled production rows dropped significantly below its golden_test accuracy.

The sensor ``quality_alerts`` turns a failure of any of them into an alert.
"""

import json

import dagster as dg

from slm_assets.core import layout
from slm_assets.core.automation.live import LIVE_FILE
from slm_assets.core.automation.nightly import check_and_archive
from slm_assets.core.golden.drift import DriftReport
from slm_assets.defs.automation.assets import drift_metadata
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings


@dg.asset_check(
    asset="production_drift",
    name="golden_set_still_representative",
    description="Warns when recent production inputs no longer look like golden_test (thresholds in alerts.drift): "
    "time to cut a new golden version.",
)
def golden_set_still_representative(slm: SlmSettings) -> dg.AssetCheckResult:
    settings = slm.get()
    path = layout.drift_file(settings)
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("representative")
    report = DriftReport(**data)
    description = (
        f"golden set {settings.golden.version} should get a new version: " + "; ".join(report.breaches)
        if report.breaches
        else "recent production inputs still look like the golden set" + (f" ({report.note})" if report.note else "")
    )
    return dg.AssetCheckResult(
        passed=report.representative,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={**drift_metadata(report), "path": dg.MetadataValue.path(str(path))},
    )


@dg.asset_check(
    asset="model_evaluation",
    name="answers_unchanged",
    partitions_def=model_versions,
    description="A frozen model on a frozen golden set must answer the same: compares these predictions with the "
    "previous evaluation's (archived under history/); a change means the environment changed.",
)
def answers_unchanged(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> dg.AssetCheckResult:
    settings = slm.get()
    folder = layout.evaluation_dir(settings, context.partition_key)
    passed, result = check_and_archive(folder, settings.alerts.max_changed_answer_rate)
    metrics_file = layout.metrics_file(settings, context.partition_key)
    cached = json.loads(metrics_file.read_text(encoding="utf-8")).get("cached_examples") if metrics_file.exists() else None
    if result.previous is None or not result.comparable:
        description = result.note
    elif passed:
        description = f"{result.compared} answers compared with the previous evaluation: {result.changed} changed"
    else:
        description = (
            f"{result.changed} of {result.compared} answers changed since the previous evaluation of the same model on "
            "the same golden set: the environment (libraries, hardware, prompt code or config) changed"
        )
    if cached:
        # Answers served from the prediction cache only prove the cache is intact.
        description += f" ({cached} answers came from the prediction cache)"
    context.log.info(description)
    metadata = {
        "compared": result.compared,
        "changed": result.changed,
        "changed_rate": result.changed_rate,
        "only_previous": result.only_previous,
        "only_current": result.only_current,
        "previous": result.previous or "none",
        "examples": dg.MetadataValue.json(result.examples),
        "path": dg.MetadataValue.path(str(folder)),
    }
    if cached is not None:
        metadata["cached_answers"] = cached
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN, description=description, metadata=metadata
    )


@dg.asset_check(
    asset="live_traffic_evaluation",
    name="live_accuracy_holds",
    partitions_def=model_versions,
    description="Warns (and alerts, through quality_alerts) when the version's accuracy on recent labelled production "
    "rows is significantly below its golden_test accuracy (one-sided two-proportion test, alerts.live_traffic).",
)
def live_accuracy_holds(context: dg.AssetCheckExecutionContext, slm: SlmSettings) -> dg.AssetCheckResult:
    settings = slm.get()
    path = layout.live_dir(settings, context.partition_key) / LIVE_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    return dg.AssetCheckResult(
        passed=not data["significant_drop"],
        severity=dg.AssetCheckSeverity.WARN,
        description=data["description"],
        metadata={k: data[k] for k in ("live_accuracy", "golden_accuracy", "difference", "p_value", "live_n", "golden_n")
                  if data.get(k) is not None} | {"ci": str(data.get("ci")), "path": dg.MetadataValue.path(str(path))},
    )
