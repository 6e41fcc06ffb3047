"""The results history: every evaluation, profile, comparison and nightly result, appended, never rewritten.

``metrics.json``, ``profile.json`` and ``comparison.json`` hold the *latest* result of a
version; this table keeps all of them, so trends can be plotted and a re-evaluated
version keeps its past. One JSON object per line in ``history_path(settings)``:
``recorded_at``, ``kind``, ``model``, ``model_digest``, ``golden_version``, ``engine``,
``config_hash``, ``environment`` (and its hash), ``trigger``, ``run_id`` and the
result's numeric ``metrics`` flattened to ``a.b -> float``.

Appends are atomic: one ``write`` of one whole line on a file opened with
``O_APPEND`` under an exclusive ``flock``, so concurrent runs (several Celery
workers on one data dir) interleave rows, never bytes. A line that still does not
parse (a disk that filled mid-write) is reported by ``read_history``, not dropped.
"""

import fcntl
import hashlib
import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from slm_assets.config import Settings
from slm_assets.core import layout
from slm_assets.core.reporting.tracking import flatten_metrics

KINDS = ("evaluation", "profile", "comparison", "live", "benchmark")
# What a measurement depends on: a change to any of these sections is a different experiment.
CONFIG_SECTIONS = ("golden", "task", "evaluation", "profiling", "comparison")
# The trigger tag of the nightly re-evaluation: its rows form the production trend.
NIGHTLY_TRIGGER = "nightly_reevaluation"
_LIBRARIES = ("torch", "transformers", "llama-cpp-python", "numpy")


def history_path(settings: Settings) -> Path:
    return layout.history_file(settings)


def config_hash(settings: Settings) -> str:
    return settings.section_hash(*CONFIG_SECTIONS)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment_fingerprint() -> dict[str, Any]:
    """What the machine and libraries were, cheaply (no benchmark, no torch import)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{lib: _version(lib) for lib in _LIBRARIES},
    }
    env["hash"] = hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()[:16]
    return env


def make_row(
    settings: Settings,
    kind: str,
    model: str,
    metrics: Mapping[str, Any],
    *,
    digest: str | None,
    engine: str | None,
    trigger: str = "manual",
    run_id: str | None = None,
    golden_version: str | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"history kind {kind!r}: expected one of {KINDS}")
    return {
        "recorded_at": (now or datetime.now(UTC)).isoformat(),
        "kind": kind,
        "model": model,
        "model_digest": digest,
        "golden_version": golden_version or settings.golden.version,
        "engine": engine,
        "config_hash": config_hash(settings),
        "environment": environment_fingerprint(),
        "trigger": trigger,
        "run_id": run_id,
        "metrics": flatten_metrics(metrics),
        "details": dict(details or {}),
    }


def append(settings: Settings, row: Mapping[str, Any]) -> Path:
    """Append one row (one line, one write, under an exclusive lock)."""
    path = history_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(row, sort_keys=True, default=str) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"{path}: short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return path


def record(settings: Settings, kind: str, model: str, metrics: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """Build a row and append it; returns the row."""
    row = make_row(settings, kind, model, metrics, **fields)
    append(settings, row)
    return row


def record_version(settings: Settings, kind: str, version, metrics: Mapping[str, Any], **fields: Any) -> dict:
    """``record`` for a registry ``ModelVersion`` (its key, digest and engine)."""
    engine = getattr(version.card, "engine", None) or "transformers"
    return record(settings, kind, version.key, metrics, digest=version.digest, engine=engine, **fields)


@dataclass
class History:
    rows: list[dict[str, Any]]
    bad_lines: list[str] = field(default_factory=list)
    """``<file>:<line>: <why>`` for every line that did not parse (shown, never dropped silently)."""

    def select(self, kind: str | None = None, model: str | None = None, golden_version: str | None = None,
               trigger: str | None = None) -> list[dict[str, Any]]:
        return [
            r for r in self.rows
            if (kind is None or r.get("kind") == kind)
            and (model is None or r.get("model") == model)
            and (golden_version is None or r.get("golden_version") == golden_version)
            and (trigger is None or r.get("trigger") == trigger)
        ]


def read_history(settings: Settings) -> History:
    """Every row, oldest first (file order is append order)."""
    path = history_path(settings)
    history = History(rows=[])
    if not path.is_file():
        return history
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                row = json.loads(raw.decode("utf-8"))
                if not isinstance(row, dict) or "kind" not in row or "recorded_at" not in row:
                    raise ValueError("not a history row (needs kind and recorded_at)")
                history.rows.append(row)
            except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                history.bad_lines.append(f"{path}:{number}: {exc}")
    return history
