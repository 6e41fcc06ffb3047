"""The artifact layout: every path under the data directory is built here, and nowhere else.

```
<data_dir>/logs/                         default log source (synthetic logs land here)
<data_dir>/ingested/                     production_logs + quarantined_logs + ingest report,
                                         published together: versions/<v>/ behind the current link
<data_dir>/golden/<version>/             frozen splits + manifest.json
<data_dir>/evaluations/<key>/<golden>/   metrics.json, predictions.parquet (+ nightly archives)
<data_dir>/profiles/<key>/profile.json
<data_dir>/comparisons/<key>/comparison.json
<data_dir>/reports/<key>/report.html, reports/leaderboard.html
<data_dir>/drift/production_drift.json
<data_dir>/history/results.jsonl         append-only results over time
<data_dir>/live/<key>/<golden>/          nightly live-traffic evaluation (live.json)
<data_dir>/benchmarks/<key>/             lm-evaluation-harness tasks: results.json, examples.parquet
<data_dir>/cache/                        prediction cache, scratch space of long jobs
```

``<key>`` is a model version key (``name@version``). Staleness has one rule too: each stored
artifact carries a ``provenance`` stamp (model digest, golden version, hash of the config sections
it depends on) and is current exactly when the stamp equals the one it would get now.
"""

import json
import os
from pathlib import Path
from typing import Any, Literal

ArtifactKind = Literal["evaluation", "profile", "comparison"]

# Config sections each artifact depends on: a change in one makes the artifact stale.
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "evaluation": ("task", "evaluation"),
    "profile": ("task", "profiling"),
    "comparison": ("task", "evaluation", "profiling", "comparison", "slo"),
}

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
PROFILE_FILE = "profile.json"
COMPARISON_FILE = "comparison.json"
REPORT_FILE = "report.html"
LEADERBOARD_FILE = "leaderboard.html"
PREDICTION_CACHE_FILE = "predictions.sqlite"


def _segment(value: str, what: str) -> str:
    """One path segment from user-given text (a version key, a golden version): no path tricks."""
    if not value or value in {".", ".."} or any(c in value for c in "/\\\0"):
        raise ValueError(f"invalid {what} {value!r}: not usable as a folder name")
    return value


# -- roots
def logs_dir(settings: Any) -> Path:
    return settings.data_dir / "logs"


def ingested_dir(settings: Any) -> Path:
    return settings.data_dir / "ingested"


def golden_root(settings: Any) -> Path:
    return settings.data_dir / "golden"


def evaluations_root(settings: Any) -> Path:
    return settings.data_dir / "evaluations"


def profiles_root(settings: Any) -> Path:
    return settings.data_dir / "profiles"


def comparisons_root(settings: Any) -> Path:
    return settings.data_dir / "comparisons"


def reports_root(settings: Any) -> Path:
    return settings.data_dir / "reports"


def cache_dir(settings: Any) -> Path:
    return settings.data_dir / "cache"


def history_dir(settings: Any) -> Path:
    return settings.data_dir / "history"


# -- per artifact
def golden_dir(settings: Any, version: str | None = None) -> Path:
    return golden_root(settings) / _segment(version or settings.golden.version, "golden version")


def evaluation_dir(settings: Any, key: str, golden_version: str | None = None) -> Path:
    golden = _segment(golden_version or settings.golden.version, "golden version")
    return evaluations_root(settings) / _segment(key, "model version key") / golden


def metrics_file(settings: Any, key: str, golden_version: str | None = None) -> Path:
    return evaluation_dir(settings, key, golden_version) / METRICS_FILE


def predictions_file(settings: Any, key: str, golden_version: str | None = None) -> Path:
    return evaluation_dir(settings, key, golden_version) / PREDICTIONS_FILE


def profile_file(settings: Any, key: str) -> Path:
    return profiles_root(settings) / _segment(key, "model version key") / PROFILE_FILE


def comparison_file(settings: Any, key: str) -> Path:
    return comparisons_root(settings) / _segment(key, "model version key") / COMPARISON_FILE


def report_file(settings: Any, key: str) -> Path:
    return reports_root(settings) / _segment(key, "model version key") / REPORT_FILE


def leaderboard_file(settings: Any) -> Path:
    return reports_root(settings) / LEADERBOARD_FILE


INGESTED_VERSIONS = "versions"
INGESTED_POINTER = "current"


def published_ingestion(out_dir: Path) -> Path:
    """The folder of the current ingestion outputs in ``out_dir`` (``ingested/`` or ``ingest --out``):
    the ``current`` link (swapped by each ingestion) resolved once, so a reader that hashes a file
    and then reads it sees one ingestion; ``out_dir`` itself when nothing was published through it."""
    pointer = Path(out_dir) / INGESTED_POINTER
    return Path(out_dir) / os.readlink(pointer) if pointer.is_symlink() else Path(out_dir)


def production_logs_file(settings: Any) -> Path:
    return published_ingestion(ingested_dir(settings)) / "production_logs.parquet"


def history_file(settings: Any) -> Path:
    """The append-only results history (one JSON row a line; see ``reporting/history.py``)."""
    return history_dir(settings) / "results.jsonl"


def live_dir(settings: Any, key: str) -> Path:
    """The nightly live-traffic evaluation of a version: predictions, metrics and live.json."""
    golden = _segment(settings.golden.version, "golden version")
    return settings.data_dir / "live" / _segment(key, "model version key") / golden


def benchmarks_dir(settings: Any, key: str) -> Path:
    """Standard benchmark results of a version: results.json and per-example examples.parquet."""
    return settings.data_dir / "benchmarks" / _segment(key, "model version key")


def drift_file(settings: Any) -> Path:
    return settings.data_dir / "drift" / "production_drift.json"


def prediction_cache_file(settings: Any) -> Path:
    return cache_dir(settings) / PREDICTION_CACHE_FILE


def artifact_file(settings: Any, kind: ArtifactKind, key: str) -> Path:
    return {"evaluation": metrics_file, "profile": profile_file, "comparison": comparison_file}[kind](settings, key)


# -- staleness
def provenance(settings: Any, kind: ArtifactKind, digest: str, **extra: str) -> dict[str, str]:
    """The stamp an artifact of ``kind`` made now for a model of ``digest`` carries
    (``extra``: e.g. the baseline's digest for a comparison)."""
    return {
        "kind": kind,
        "model_digest": digest,
        "golden_version": settings.golden.version,
        "config_hash": settings.section_hash(*DEPENDS_ON[kind]),
        **extra,
    }


def read_artifact(path: Path) -> dict | None:
    """A stored JSON artifact, or None when missing or unreadable (then it is simply not current)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_current(settings: Any, kind: ArtifactKind, key: str, digest: str, **extra: str) -> bool:
    """Whether the stored ``kind`` artifact of ``key`` is of these weights, golden set and settings."""
    stored = read_artifact(artifact_file(settings, kind, key))
    return stored is not None and stored.get("provenance") == provenance(settings, kind, digest, **extra)
