"""Every per-version result goes to the results history, and to MLflow when ``mlflow.enabled``."""

from pathlib import Path
from typing import Any

import dagster as dg

from slm_assets.config import Settings
from slm_assets.core.models.registry import get_registry
from slm_assets.core.reporting import history
from slm_assets.core.reporting.tracking import log_run
from slm_assets.defs.tags import TRIGGER_TAG


def track(
    context: dg.AssetExecutionContext,
    settings: Settings,
    kind: str,
    metrics: dict[str, Any],
    artifacts: list[Path],
    details: dict[str, Any] | None = None,
    key: str | None = None,
) -> None:
    """``key``: the version measured, when not the run's partition (a baseline evaluated by a comparison)."""
    key = key or context.partition_key
    version = get_registry(settings).get(key)
    trigger = context.run.tags.get(TRIGGER_TAG) or context.run.tags.get("slm/source") or "dagster"
    if kind in history.KINDS:
        history.record_version(settings, kind, version, metrics, trigger=trigger, run_id=context.run.run_id,
                               details=details)
    if not settings.mlflow.enabled:
        return
    run_id = log_run(
        settings,
        kind,
        key,
        params={
            "name": version.ref.name,
            "version": version.ref.version,
            "digest": version.digest,
            "golden_version": settings.golden.version,
            "config_hash": history.config_hash(settings),
            "engine": getattr(version.card, "engine", None) or "transformers",
            "environment_hash": history.environment_fingerprint()["hash"],
            "trigger": trigger,
            "dagster_run_id": context.run.run_id,
        },
        metrics=metrics,
        artifacts=artifacts,
    )
    context.log.info(f"logged {kind} of {key} to MLflow run {run_id}")
