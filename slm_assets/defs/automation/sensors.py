"""``run_failure_alert``: every failed run becomes one clear alert (log + optional webhook).

RUNNING by default: it only reads the failed run's events and never launches work.
The webhook URL comes from the environment variable named by
``alerts.webhook_url_env`` (default ``SLM_ALERT_WEBHOOK_URL``); unset means log only.
"""

import dagster as dg

from slm_assets.core.automation.alerts import RunFailureAlert, send_alert
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
