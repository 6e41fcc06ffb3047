"""What the comparison reads: one version's evaluation artifacts, and whether a stored evaluation
or profile is current.

One rule for staleness: an artifact is current when the fingerprint it recorded (model digest
plus the config sections that shaped it) equals the fingerprint of what would be produced now.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from slm_assets.config import Settings
from slm_assets.core.profiling.version_profile import profile_path

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


def evaluation_dir(settings: Settings, key: str, golden_version: str | None = None) -> Path:
    return settings.evaluations_dir / key / (golden_version or settings.golden.version)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_evaluation(settings: Settings, key: str, golden_version: str | None = None) -> EvaluationArtifacts:
    folder = evaluation_dir(settings, key, golden_version)
    metrics_path, predictions_path = folder / "metrics.json", folder / "predictions.parquet"
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
    profile = _read_json(profile_path(settings, key)) or {}
    return EvaluationArtifacts(key, metrics, predictions, profile.get("scorecard"), source=str(folder))


# ------------------------------------------------------------------ staleness


def _evaluation_fingerprints(settings: Settings, version: Any) -> tuple[dict, dict | None]:
    stored = _read_json(evaluation_dir(settings, version.key) / "metrics.json")
    now = {"model_digest": version.digest, "task_hash": settings.section_hash("task"),
           "evaluation_hash": settings.section_hash("evaluation")}
    return now, None if stored is None else {k: stored.get(k) for k in now}


def _profile_fingerprints(settings: Settings, version: Any) -> tuple[dict, dict | None]:
    stored = _read_json(profile_path(settings, version.key))
    now = {"model_digest": version.digest, "profiling": settings.profiling.model_dump(mode="json")}
    if stored is None:
        return now, None
    return now, {"model_digest": (stored.get("model_version") or {}).get("digest"), "profiling": stored.get("config")}


_FINGERPRINTS = {"evaluation": _evaluation_fingerprints, "profile": _profile_fingerprints}


def is_current(settings: Settings, version: Any, artifact: str) -> bool:
    """Whether the stored ``artifact`` ("evaluation" or "profile") of ``version`` is of these
    weights and this config; False when it is missing or unreadable."""
    now, stored = _FINGERPRINTS[artifact](settings, version)
    return stored == now
