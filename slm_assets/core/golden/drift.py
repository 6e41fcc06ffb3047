"""Drift of recent production inputs against the frozen golden set.

A golden set is only useful while it looks like production. This module puts
numbers on "looks like": label shift (total variation, where production rows
carry labels), input length (population stability index over the golden
set's length deciles, and the mean ratio), the share of production word
occurrences never seen in the golden set, and the PSI of the stratum mix.
Each figure has a threshold (``alerts.drift`` in the config); any breach means
the golden set should get a new version.
"""

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from slm_assets.core import layout
from slm_assets.core.schema import INPUT, REFERENCE, STRATUM, TIMESTAMP

_WORD = re.compile(r"\w+", re.UNICODE)
# PSI is undefined for empty bins; this floor is the usual practice (0.01 %).
_PSI_FLOOR = 1e-4


def total_variation(p: Counter, q: Counter) -> float:
    """Total-variation distance between two categorical distributions given as counts."""
    np_, nq = sum(p.values()), sum(q.values())
    if not np_ or not nq:
        return 0.0
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p[k] / np_ - q[k] / nq) for k in keys)


def psi_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index: sum((a - e) * ln(a / e)) over bins of shares."""
    e = np.clip(np.asarray(expected, dtype=float), _PSI_FLOOR, None)
    a = np.clip(np.asarray(actual, dtype=float), _PSI_FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


def categorical_psi(expected: Counter, actual: Counter) -> float:
    keys = sorted(set(expected) | set(actual))
    ne, na = sum(expected.values()), sum(actual.values())
    if not ne or not na:
        return 0.0
    return psi_from_shares(
        np.array([expected[k] / ne for k in keys]), np.array([actual[k] / na for k in keys])
    )


def numeric_psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """PSI over the expected sample's quantile bins (ties merged), open-ended at both ends."""
    if len(expected) == 0 or len(actual) == 0:
        return 0.0
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    return psi_from_shares(e / e.sum(), a / a.sum())


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def unseen_vocabulary_share(reference_texts: pd.Series, texts: pd.Series) -> float:
    """Share of word occurrences in ``texts`` whose word never occurs in ``reference_texts``."""
    vocabulary = {w for t in reference_texts for w in words(t)}
    total = unseen = 0
    for t in texts:
        for w in words(t):
            total += 1
            unseen += w not in vocabulary
    return unseen / total if total else 0.0


@dataclass
class DriftThresholds:
    max_label_tv: float
    max_length_psi: float
    length_mean_ratio_bounds: tuple[float, float]
    max_unseen_vocabulary_share: float
    max_stratum_psi: float
    min_recent_rows: int


@dataclass
class DriftReport:
    window_start: str | None
    window_end: str | None
    recent_rows: int
    recent_labelled_rows: int
    golden_rows: int
    label_tv: float | None
    length_psi: float
    length_mean_ratio: float
    unseen_vocabulary_share: float
    stratum_psi: float
    breaches: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def representative(self) -> bool:
        return not self.breaches

    def to_dict(self) -> dict:
        return {**asdict(self), "representative": self.representative}


def read_recent_logs(path: Path, window_days: float) -> tuple[pd.DataFrame, str | None, str | None]:
    """The rows of ``production_logs`` from the last ``window_days`` before its newest timestamp.

    The window ends at the newest logged timestamp, not at the wall clock, so a log
    folder that stopped growing still has a "recent" window. Rows without a timestamp
    are counted in the window only when no row has one (nothing to date them by).
    Only the columns drift needs are read.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: production_logs not materialized yet")
    columns = [INPUT, REFERENCE, TIMESTAMP, STRATUM]
    stamps = pq.read_table(path, columns=[TIMESTAMP]).column(TIMESTAMP)
    newest = pc.max(stamps).as_py()
    if newest is None:
        return pq.read_table(path, columns=columns).to_pandas(), None, None
    start = newest - timedelta(days=window_days)
    table = pq.read_table(path, columns=columns, filters=[(TIMESTAMP, ">", start)])
    return table.to_pandas(), start.isoformat(), newest.isoformat()


def compute_drift(
    recent: pd.DataFrame,
    golden: pd.DataFrame,
    thresholds: DriftThresholds,
    window: tuple[str | None, str | None] = (None, None),
) -> DriftReport:
    """Compare ``recent`` production rows with ``golden`` rows (both in the canonical schema)."""
    recent_labels = recent[REFERENCE].dropna()
    golden_labels = golden[REFERENCE].dropna()
    label_tv = (
        total_variation(Counter(golden_labels), Counter(recent_labels)) if len(recent_labels) else None
    )
    golden_len = golden[INPUT].str.len().to_numpy(dtype=float)
    recent_len = recent[INPUT].str.len().to_numpy(dtype=float)
    golden_mean = float(golden_len.mean()) if len(golden_len) else 0.0
    mean_ratio = float(recent_len.mean()) / golden_mean if len(recent_len) and golden_mean else 1.0
    report = DriftReport(
        window_start=window[0],
        window_end=window[1],
        recent_rows=len(recent),
        recent_labelled_rows=len(recent_labels),
        golden_rows=len(golden),
        label_tv=label_tv,
        length_psi=numeric_psi(golden_len, recent_len),
        length_mean_ratio=mean_ratio,
        unseen_vocabulary_share=unseen_vocabulary_share(golden[INPUT], recent[INPUT]),
        stratum_psi=categorical_psi(Counter(golden[STRATUM]), Counter(recent[STRATUM])),
    )
    if len(recent) < thresholds.min_recent_rows:
        report.note = (
            f"only {len(recent)} recent rows (< min_recent_rows={thresholds.min_recent_rows}): "
            "too few to judge drift"
        )
        return report
    low, high = thresholds.length_mean_ratio_bounds
    checks = [
        (label_tv is not None and label_tv > thresholds.max_label_tv,
         f"label total variation {label_tv or 0:.3f} > {thresholds.max_label_tv}"),
        (report.length_psi > thresholds.max_length_psi,
         f"input length PSI {report.length_psi:.3f} > {thresholds.max_length_psi}"),
        (not low <= mean_ratio <= high,
         f"input length mean ratio {mean_ratio:.3f} outside [{low}, {high}]"),
        (report.unseen_vocabulary_share > thresholds.max_unseen_vocabulary_share,
         f"unseen vocabulary share {report.unseen_vocabulary_share:.3f} > "
         f"{thresholds.max_unseen_vocabulary_share}"),
        (report.stratum_psi > thresholds.max_stratum_psi,
         f"stratum PSI {report.stratum_psi:.3f} > {thresholds.max_stratum_psi}"),
    ]
    report.breaches = [message for breached, message in checks if breached]
    return report


def thresholds(settings) -> DriftThresholds:
    d = settings.alerts.drift
    return DriftThresholds(
        max_label_tv=d.max_label_tv,
        max_length_psi=d.max_length_psi,
        length_mean_ratio_bounds=tuple(d.length_mean_ratio_bounds),
        max_unseen_vocabulary_share=d.max_unseen_vocabulary_share,
        max_stratum_psi=d.max_stratum_psi,
        min_recent_rows=d.min_recent_rows,
    )


def measure_drift(settings) -> DriftReport:
    """The drift use case: the last ``alerts.drift.window_days`` of production_logs against golden_test."""
    from slm_assets.core.golden.store import load_split

    recent, start, end = read_recent_logs(layout.production_logs_file(settings), settings.alerts.drift.window_days)
    return compute_drift(recent, load_split(settings, "test"), thresholds(settings), window=(start, end))
