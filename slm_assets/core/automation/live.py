"""Live traffic: is the production version still as accurate on today's labelled production rows?

The nightly run answers the newest labelled rows of ``production_logs`` that are in no
golden split (of any golden version) with the production version, and compares that
accuracy with the version's accuracy on golden_test: a one-sided two-proportion z-test
(live below golden) and a 95% Newcombe (Wilson hybrid score) interval of the difference.
A drop both significant at ``alerts.live_traffic.alpha`` and at least ``min_drop`` large
is what alerts; fewer than ``min_rows`` rows give no verdict.
"""

import math
from dataclasses import asdict, dataclass, field
from datetime import timedelta

import pandas as pd
import pyarrow.parquet as pq

from slm_assets.config import LiveTrafficConfig, Settings
from slm_assets.core import layout
from slm_assets.core.evaluation.metrics import wilson_interval
from slm_assets.core.evaluation.robustness import ORIGINAL
from slm_assets.core.golden.store import load_split
from slm_assets.core.io import atomic_write_json
from slm_assets.core.schema import CONTENT_HASH, EXAMPLE_ID, REFERENCE, SPLITS, TIMESTAMP

LIVE_FILE = "live.json"


def golden_keys(settings: Settings) -> tuple[set[str], set[str]]:
    """Example ids and content hashes of every split of every golden version on disk."""
    ids: set[str] = set()
    hashes: set[str] = set()
    versions = sorted(p.name for p in layout.golden_root(settings).iterdir() if p.is_dir()) if layout.golden_root(settings).is_dir() else []
    for version in versions:
        for split in SPLITS:
            frame = load_split(settings, split, version=version)
            ids.update(frame[EXAMPLE_ID].astype(str))
            hashes.update(frame[CONTENT_HASH].astype(str))
    return ids, hashes


def live_rows(settings: Settings) -> tuple[pd.DataFrame, dict]:
    """The newest labelled production rows outside every golden split, and how they were chosen."""
    cfg = settings.alerts.live_traffic
    path = layout.production_logs_file(settings)
    if not path.exists():
        raise FileNotFoundError(f"{path}: production_logs not materialized yet")
    frame = pq.read_table(path, filters=[(REFERENCE, "!=", "")]).to_pandas()
    frame = frame[frame[REFERENCE].notna()]
    labelled = len(frame)
    ids, hashes = golden_keys(settings)
    frame = frame[~frame[EXAMPLE_ID].astype(str).isin(ids) & ~frame[CONTENT_HASH].isin(hashes)]
    outside = len(frame)
    window = {"labelled_rows": labelled, "outside_golden": outside, "start": None, "end": None}
    if frame[TIMESTAMP].notna().any():
        newest = frame[TIMESTAMP].max()
        start = newest - timedelta(days=cfg.window_days)
        frame = frame[frame[TIMESTAMP] > start].sort_values(TIMESTAMP, kind="stable")
        window.update(start=start.isoformat(), end=newest.isoformat())
    else:
        window["note"] = "no timestamps: the last rows in file order"
    frame = frame.tail(cfg.max_rows).reset_index(drop=True)
    window["rows"] = len(frame)
    return frame, window


@dataclass
class DropTest:
    live_correct: int
    live_n: int
    golden_correct: int
    golden_n: int
    difference: float | None = None
    """live accuracy minus golden_test accuracy"""
    ci: tuple[float, float] | None = None
    p_value: float | None = None
    """one-sided: live below golden"""
    significant_drop: bool = False
    note: str = ""
    window: dict = field(default_factory=dict)

    @property
    def live_accuracy(self) -> float | None:
        return self.live_correct / self.live_n if self.live_n else None

    @property
    def golden_accuracy(self) -> float | None:
        return self.golden_correct / self.golden_n if self.golden_n else None

    def describe(self) -> str:
        if self.difference is None:
            return self.note
        lo, hi = self.ci or (float("nan"), float("nan"))
        verdict = "SIGNIFICANT DROP" if self.significant_drop else "no significant drop"
        return (f"{verdict}: live accuracy {self.live_accuracy:.3f} on {self.live_n} recent rows vs golden_test "
                f"{self.golden_accuracy:.3f} on {self.golden_n} (difference {self.difference:+.3f}, 95% CI "
                f"[{lo:+.3f}, {hi:+.3f}], one-sided p {self.p_value:.3g})" + (f"; {self.note}" if self.note else ""))

    def to_dict(self) -> dict:
        return {**asdict(self), "live_accuracy": self.live_accuracy, "golden_accuracy": self.golden_accuracy,
                "description": self.describe()}


def two_proportion_drop(live_correct: int, live_n: int, golden_correct: int, golden_n: int,
                        cfg: LiveTrafficConfig) -> DropTest:
    test = DropTest(live_correct, live_n, golden_correct, golden_n)
    if live_n < cfg.min_rows or golden_n == 0:
        test.note = (f"only {live_n} live rows (< alerts.live_traffic.min_rows={cfg.min_rows}): no verdict"
                     if live_n < cfg.min_rows else "no golden_test evaluation to compare with")
        return test
    p1, p2 = live_correct / live_n, golden_correct / golden_n
    test.difference = p1 - p2
    pooled = (live_correct + golden_correct) / (live_n + golden_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / live_n + 1 / golden_n))
    z = test.difference / se if se > 0 else 0.0
    test.p_value = 0.5 * math.erfc(-z / math.sqrt(2))  # P(Z <= z): small when live is below golden
    (l1, u1), (l2, u2) = wilson_interval(live_correct, live_n), wilson_interval(golden_correct, golden_n)
    test.ci = (test.difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
               test.difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    test.significant_drop = test.p_value < cfg.alpha and -test.difference >= cfg.min_drop
    return test


def golden_counts(predictions: pd.DataFrame) -> tuple[int, int]:
    originals = predictions[predictions["variant"] == ORIGINAL]
    return int(originals["correct"].sum()), len(originals)


def evaluate_live(settings: Settings, version, golden_predictions: pd.DataFrame, progress=None, engines=None) -> DropTest:
    """Answer the live rows with ``version`` (no robustness variants) and test for a drop; writes live.json."""
    from slm_assets.core.evaluation.run import evaluate_model

    rows, window = live_rows(settings)
    folder = layout.live_dir(settings, version.key)
    cfg = settings.alerts.live_traffic
    if len(rows) < cfg.min_rows:
        test = two_proportion_drop(0, len(rows), *golden_counts(golden_predictions), cfg)
    else:
        plain = settings.evaluation.model_copy(
            update={"max_examples": None, "robustness": settings.evaluation.robustness.model_copy(update={"enabled": False})})
        result = evaluate_model(settings.model_copy(update={"evaluation": plain}), version, progress=progress,
                                show_progress=False, contamination=None, examples=rows, directory=folder,
                                engines=engines)
        live_correct, live_n = golden_counts(result.predictions)
        test = two_proportion_drop(live_correct, live_n, *golden_counts(golden_predictions), cfg)
    test.window = window
    atomic_write_json(folder / LIVE_FILE, {"model": version.key, "model_digest": version.digest, **test.to_dict()})
    return test
