"""``new_model_version_sensor``: one partition and one evaluation run per new ready registry version.

Default status RUNNING: with the daemon up (``make ui``), each version that lands in the
registry is evaluated without a click. Stop it in the UI (Automation) to evaluate by hand.

The cursor is a JSON object ``{NAME@VERSION: digest}`` of every version already requested;
Dagster persists it between ticks and daemon restarts, and ``run_key`` (key and digest)
makes the daemon drop a request it has already launched, so no version is run twice or missed.
"""

import json

import dagster as dg

from slm_assets.core.models.registry import get_registry
from slm_assets.defs.models.jobs import evaluate_model_version_job
from slm_assets.defs.partitions import model_versions
from slm_assets.defs.resources import SlmSettings


def _read_cursor(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    seen = json.loads(cursor)
    if not isinstance(seen, dict):
        raise ValueError(f"new_model_version_sensor: cursor must be a JSON object, got {cursor[:80]!r}")
    return seen


SENSOR_NAME = "new_model_version_sensor"


def run_key(version) -> str:
    return f"{version.key}:{version.digest}"


def sensor_run_tags(version) -> dict[str, str]:
    """The tags the daemon puts on this sensor's run for a version: a run launched elsewhere with them
    (``slm-bench demo``) counts as that request done, so the daemon does not launch it again."""
    return {"dagster/sensor_name": SENSOR_NAME, "dagster/run_key": run_key(version)}


@dg.sensor(
    name=SENSOR_NAME,
    job=evaluate_model_version_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a model_versions partition and requests an evaluation run per new registry version.",
)
def new_model_version_sensor(context: dg.SensorEvaluationContext, slm: SlmSettings) -> dg.SensorResult:
    seen = _read_cursor(context.cursor)
    # list_ready only returns versions whose card.json is written, and skips ones deleted meanwhile.
    ready = get_registry(slm.get()).list_ready()
    new = [v for v in ready if seen.get(v.key) != v.digest]
    if not new:
        return dg.SensorResult(skip_reason=f"no new model version ({len(ready)} ready, all requested)")
    existing = set(context.instance.get_dynamic_partitions(model_versions.name))
    to_add = [v.key for v in new if v.key not in existing]
    runs = [
        dg.RunRequest(
            run_key=run_key(v),
            partition_key=v.key,
            tags={"slm/model_version": v.key, "slm/digest": v.digest},
        )
        for v in new
    ]
    context.log.info(f"{len(new)} new model version(s): {', '.join(v.key for v in new)}")
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[model_versions.build_add_request(to_add)] if to_add else [],
        # Entries of deleted versions stay: a same-name re-registration has a new digest anyway.
        cursor=json.dumps({**seen, **{v.key: v.digest for v in new}}, sort_keys=True),
    )
