"""Alerts for the warnings a person must see: a live-traffic accuracy drop, changed answers of a
frozen model, and production inputs drifting away from the golden set.

Dagster records these as WARN check results, which fail no run, so nobody would hear of
them; ``quality_alerts`` (a run-status sensor) turns each failed one into one alert sent by
``alerts.send_alert``. The payload carries ``text`` (what a Slack incoming webhook shows)
plus structured fields for generic receivers.
"""

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# check name -> what its failure means, in the alert's words
WATCHED_CHECKS = {
    "live_accuracy_holds": "production accuracy dropped on live traffic",
    "answers_unchanged": "a frozen model answered differently (the environment changed)",
    "golden_set_still_representative": "production inputs drifted from the golden set",
}
_FIELDS_SHOWN = 8


@dataclass(frozen=True)
class CheckAlert:
    check: str
    asset: str
    description: str
    job: str
    run_id: str
    partition: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def message(self) -> str:
        where = f" [{self.partition}]" if self.partition else ""
        return (f"ALERT {WATCHED_CHECKS.get(self.check, self.check)}: {self.asset}{where} check {self.check} "
                f"failed in job {self.job}, run {self.run_id}. {self.description}")

    def payload(self) -> dict:
        return {"event": "check_failed", "text": self.message(), **asdict(self)}


def _plain(value: Any) -> Any:
    """A metadata value as JSON-friendly text or number (Dagster wraps them)."""
    value = getattr(value, "value", value)
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def alerts_for(evaluations: Iterable[Any], job: str, run_id: str, partition: str | None) -> list[CheckAlert]:
    """One alert per failed watched check; ``evaluations`` are Dagster ``AssetCheckEvaluation``s."""
    alerts = []
    for ev in evaluations:
        if ev.passed or ev.check_name not in WATCHED_CHECKS:
            continue
        metadata: Mapping[str, Any] = ev.metadata or {}
        figures = {k: _plain(v) for k, v in list(metadata.items())[:_FIELDS_SHOWN]}
        alerts.append(CheckAlert(check=ev.check_name, asset=ev.asset_key.to_user_string(),
                                 description=ev.description or "", job=job, run_id=run_id,
                                 partition=partition, figures=figures))
    return alerts
