"""Schedules of the automation stage. Both are STOPPED by default: they launch real work
(a model evaluation, a full log read), so whoever runs the deployment switches them on
in the UI (Automation tab) or with ``dagster schedule start``.

- ``nightly_reevaluation`` (02:00 UTC daily): one run of the ``evaluate_model_version`` job
  (evaluation, profile, comparison) per model name that has a ``production`` alias; the
  ``answers_unchanged`` check then compares the answers with the previous evaluation.
  Run key ``nightly-<date>-<NAME@VERSION>``: a tick re-evaluated after a daemon restart
  launches nothing twice.
- ``ingest_logs_schedule`` (01:00 UTC daily): re-reads the log sources (``ingestion`` group)
  and recomputes ``production_drift``.
"""

import dagster as dg

from slm_assets.core.models.registry import get_registry
from slm_assets.core.models.versions import RegistryError
from slm_assets.defs.automation.assets import production_drift
from slm_assets.defs.ingestion.assets import ingest_production_logs
from slm_assets.defs.models.jobs import evaluate_model_version_job
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings
from slm_assets.defs.tags import REFRESH_CACHE_TAG

PRODUCTION_ALIAS = "production"
NIGHTLY_CRON = "0 2 * * *"
INGEST_CRON = "0 1 * * *"

ingest_logs_job = dg.define_asset_job(
    "ingest_logs",
    selection=dg.AssetSelection.assets(ingest_production_logs, production_drift),
    description="Read the log sources into production_logs / quarantined_logs, then measure production_drift.",
)


@dg.schedule(
    cron_schedule=NIGHTLY_CRON,
    job=evaluate_model_version_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Re-evaluate, re-profile and compare the `production` model of each model name every night.",
)
def nightly_reevaluation(context: dg.ScheduleEvaluationContext, slm: SlmSettings):
    registry = get_registry(slm.get())
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    requests, skipped = [], []
    for name in sorted({v.ref.name for v in registry.list_ready()}):
        if PRODUCTION_ALIAS not in registry.aliases(name):
            continue
        try:
            key = registry.resolve(name, PRODUCTION_ALIAS).key
        except RegistryError as exc:  # alias pointing at a version removed or not ready
            skipped.append(f"{name}: {exc}")
            continue
        if not context.instance.has_dynamic_partition(model_versions.name, key):
            skipped.append(f"{key}: not yet a model_versions partition (the new-version sensor adds it)")
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"nightly-{day}-{key}",
                partition_key=key,
                tags={"slm/trigger": "nightly_reevaluation", REFRESH_CACHE_TAG: "true"},
            )
        )
    for reason in skipped:
        context.log.warning(f"nightly re-evaluation skipped {reason}")
    if not requests:
        return dg.SkipReason("no model has a `production` alias ready to re-evaluate" + (f" ({'; '.join(skipped)})" if skipped else ""))
    return requests


ingest_logs_schedule = dg.ScheduleDefinition(
    name="ingest_logs_schedule",
    job=ingest_logs_job,
    cron_schedule=INGEST_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: ingest the log sources, then recompute production_drift against the golden set.",
)
