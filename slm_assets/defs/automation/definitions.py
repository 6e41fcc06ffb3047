"""Automation stage: production drift, nightly re-evaluation and live-traffic drop detection, scheduled
ingestion, failure and quality alerts."""

import dagster as dg

from slm_assets.defs.automation.assets import live_traffic_evaluation, production_drift
from slm_assets.defs.automation.checks import answers_unchanged, golden_set_still_representative, live_accuracy_holds
from slm_assets.defs.automation.schedules import (
    ingest_logs_job, ingest_logs_schedule, nightly_production_job, nightly_reevaluation,
)
from slm_assets.defs.automation.sensors import quality_alerts, run_failure_alert

defs = dg.Definitions(
    assets=[production_drift, live_traffic_evaluation],
    asset_checks=[golden_set_still_representative, answers_unchanged, live_accuracy_holds],
    jobs=[ingest_logs_job, nightly_production_job],
    schedules=[nightly_reevaluation, ingest_logs_schedule],
    sensors=[run_failure_alert, quality_alerts],
)
