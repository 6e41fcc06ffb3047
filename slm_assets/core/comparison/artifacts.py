"""What the comparison reads: one version's evaluation artifacts (paths from ``core.layout``,
which also judges whether a stored artifact is current)."""

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from slm_assets.config import Settings
from slm_assets.core import layout

ORIGINAL = "original"


class ComparisonError(ValueError):
    """Two evaluations that cannot be compared (different golden set, task, or no shared examples)."""


@dataclass
class EvaluationArtifacts:
    """What one model's evaluation left on disk: metrics.json, predictions.parquet, profile scorecard."""

    key: str  # NAME@VERSION
    metrics: dict[str, Any]
    predictions: pd.DataFrame
    scorecard: dict[str, Any] | None = None
    source: str = ""  # the folder it was read from, for error messages


def load_evaluation(settings: Settings, key: str, golden_version: str | None = None) -> EvaluationArtifacts:
    folder = layout.evaluation_dir(settings, key, golden_version)
    metrics_path, predictions_path = folder / layout.METRICS_FILE, folder / layout.PREDICTIONS_FILE
    for path in (metrics_path, predictions_path):
        if not path.is_file():
            raise ComparisonError(f"{path}: missing; materialize model_evaluation for {key} first")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ComparisonError(f"{metrics_path}: not valid JSON: {exc}") from exc
    predictions = pd.read_parquet(predictions_path)
    missing = {"example_id", "variant", "correct", "prediction", "reference"} - set(predictions.columns)
    if missing:
        raise ComparisonError(f"{predictions_path}: missing columns {sorted(missing)}")
    profile = layout.read_artifact(layout.profile_file(settings, key)) or {}
    return EvaluationArtifacts(key, metrics, predictions, profile.get("scorecard"), source=str(folder))
