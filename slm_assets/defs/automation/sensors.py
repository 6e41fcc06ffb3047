"""``run_failure_alert``: every failed run becomes one clear alert (log + optional webhook);
``quality_alerts``: every failed watched warning check of a nightly or ingestion run does too
(a live-traffic accuracy drop, changed answers, drift; see ``core/automation/check_alerts.py``).

RUNNING by default: they only read a finished run's events and never launch work.
The webhook URL comes from the environment variable named by
``alerts.webhook_url_env`` (default ``SLM_ALERT_WEBHOOK_URL``); unset means log only.
"""

import dagster as dg

from slm_assets.core.automation.alerts import RunFailureAlert, send_alert
from slm_assets.core.automation.check_alerts import alerts_for
from slm_assets.defs.automation.schedules import ingest_logs_job, nightly_production_job
from slm_assets.defs.resources import SlmSettings


def root_error(error) -> str:
    """The innermost cause of a serialized error: the user's exception, not Dagster's wrapper."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def alert_from_context(context: dg.RunFailureSensorContext) -> RunFailureAlert:
    steps = context.get_step_failure_events()
    step_errors = [
        f"{e.step_key}: {root_error(e.step_failure_data.error)}" if e.step_failure_data.error else str(e.step_key)
        for e in steps
    ]
    return RunFailureAlert(
        job=context.dagster_run.job_name,
        run_id=context.dagster_run.run_id,
        failed_steps=[str(e.step_key) for e in steps],
        error=" | ".join(step_errors) or (context.failure_event.message or "unknown error"),
        partition=context.dagster_run.tags.get("dagster/partition"),
    )


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs an alert naming the job, run, failed step and error for every failed run, and POSTs it "
    "as JSON to $SLM_ALERT_WEBHOOK_URL (name configurable: alerts.webhook_url_env) when set.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, slm: SlmSettings) -> None:
    send_alert(alert_from_context(context), slm.get().alerts, log=context.log)


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event.asset_check_evaluation_data for r in records]


@dg.run_status_sensor(
    name="quality_alerts",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[nightly_production_job, ingest_logs_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="One alert (log + webhook) per failed warning check of a nightly or ingestion run: live accuracy "
    "drop (live_accuracy_holds), changed answers (answers_unchanged), drift (golden_set_still_representative).",
)
def quality_alerts(context: dg.RunStatusSensorContext, slm: SlmSettings) -> None:
    run = context.dagster_run
    evaluations = check_evaluations(context.instance, run.run_id)
    for alert in alerts_for(evaluations, run.job_name, run.run_id, run.tags.get("dagster/partition")):
        send_alert(alert, slm.get().alerts, log=context.log)
