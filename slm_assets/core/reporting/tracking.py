"""MLflow tracking of evaluations, profiles and comparisons (the ``mlflow`` extra).

Off unless ``mlflow.enabled`` is true. Each call opens one MLflow run named
``<kind> <NAME@VERSION>`` with the params that identify what was measured (model,
version, digest, golden version, config hash), numeric metrics, and files as
artifacts, so people can compare runs in the MLflow UI.
"""

import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def flatten_metrics(payload: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested dict as ``a.b.c -> float`` (booleans and NaN left out)."""
    out: dict[str, float] = {}
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_metrics(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            out[_metric_name(name)] = float(value)
    return out


def _metric_name(name: str) -> str:
    # MLflow allows letters, digits and _ - . / and space in metric names.
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in name)[:250]


def tracking_uri(settings) -> str | None:
    return settings.mlflow.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")


def ensure_experiment(client, name: str, settings, uri: str) -> str:
    """The experiment's id, creating it with a project-local artifact root for local stores."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = settings.mlflow.artifact_location
    if location is None and not uri.startswith(("http://", "https://", "databricks")):
        location = (Path(settings.data_dir) / "mlflow-artifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def log_run(
    settings,
    kind: str,
    model_key: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    artifacts: Iterable[str | Path] = (),
) -> str | None:
    """Log one run; returns its run id, or None when tracking is off."""
    if not settings.mlflow.enabled:
        return None
    import mlflow
    from mlflow.entities import Metric

    uri = tracking_uri(settings)
    if not uri:
        raise RuntimeError(
            f"{settings.config_path}: mlflow.enabled is true but no tracking URI is set "
            "(mlflow.tracking_uri or MLFLOW_TRACKING_URI)"
        )
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_id = ensure_experiment(client, settings.mlflow.experiment, settings, uri)
    run = client.create_run(experiment_id, run_name=f"{kind} {model_key}", tags={"slm.kind": kind, "slm.model": model_key})
    run_id = run.info.run_id
    try:
        for key, value in {"model": model_key, **params}.items():
            client.log_param(run_id, key, str(value)[:6000])
        now = int(time.time() * 1000)
        flat = flatten_metrics(metrics)
        if flat:
            client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in sorted(flat.items())])
        for path in map(Path, artifacts):
            if path.is_file():
                client.log_artifact(run_id, str(path))
        client.set_terminated(run_id)
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    return run_id
