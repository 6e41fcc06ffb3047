"""MLflow tracking from the per-version assets (a no-op unless ``mlflow.enabled``)."""

from pathlib import Path
from typing import Any

import dagster as dg

from slm_assets.config import Settings
from slm_assets.core.models.registry import get_registry
from slm_assets.core.reporting.tracking import log_run

# What a measurement depends on: a change to any of these sections is a different experiment.
_CONFIG_SECTIONS = ("golden", "task", "evaluation", "profiling", "comparison")


def track(
    context: dg.AssetExecutionContext,
    settings: Settings,
    kind: str,
    metrics: dict[str, Any],
    artifacts: list[Path],
) -> None:
    if not settings.mlflow.enabled:
        return
    key = context.partition_key
    version = get_registry(settings).get(key)
    run_id = log_run(
        settings,
        kind,
        key,
        params={
            "name": version.ref.name,
            "version": version.ref.version,
            "digest": version.digest,
            "golden_version": settings.golden.version,
            "config_hash": settings.section_hash(*_CONFIG_SECTIONS),
            "dagster_run_id": context.run.run_id,
        },
        metrics=metrics,
        artifacts=artifacts,
    )
    context.log.info(f"logged {kind} of {key} to MLflow run {run_id}")
