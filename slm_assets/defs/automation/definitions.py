"""Automation stage: production drift, nightly re-evaluation, scheduled ingestion, failure alerts."""

import dagster as dg

from slm_assets.defs.automation.assets import production_drift
from slm_assets.defs.automation.checks import answers_unchanged, golden_set_still_representative
from slm_assets.defs.automation.schedules import ingest_logs_job, ingest_logs_schedule, nightly_reevaluation
from slm_assets.defs.automation.sensors import run_failure_alert

defs = dg.Definitions(
    assets=[production_drift],
    asset_checks=[golden_set_still_representative, answers_unchanged],
    jobs=[ingest_logs_job],
    schedules=[nightly_reevaluation, ingest_logs_schedule],
    sensors=[run_failure_alert],
)
